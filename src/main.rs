//! `bottle`: the command-line program; everything it does (all of it I/O) is in
//! [`bot_bottle::app`].

fn main() {
    std::process::exit(bot_bottle::app::main());
}
