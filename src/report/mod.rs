//! What left the bottle.
