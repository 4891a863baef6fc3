"""Host-run tests of the addon's pure package (nix/mitmproxy/bot_bottle_addon/): plain pytest on
the host's Python (3.11 or newer), no mitmproxy, no Docker. tests/run.sh runs them right after
`cargo test`. The Docker-backed tests of the whole addon (real mitmdump) are in tests/addon/.
"""

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADDON_DIR = REPO / "nix" / "mitmproxy"
# The package is imported from the repository, as mitmdump imports it next to bottle_verdict.py.
if str(ADDON_DIR) not in sys.path:
    sys.path.insert(0, str(ADDON_DIR))
