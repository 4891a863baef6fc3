"""Identity pinning on the model lane: the only identity that may reach the provider is the bottle's own credential, injected by the addon; any other value in a header that carries an identity is refused whatever its format, and a login from inside the bottle is refused; pure, no I/O.
"""

from ..config import Credential
from ..hosts import norm_host
from ..injection import injection_plan
from ..refusal import Refusal, model_identity, model_login
from ..rules import path_views
from .config import ModelLane, Provider


def login_refusal(lane: ModelLane, host: str, path: str) -> Refusal | None:
    """A request to a provider's login (OAuth token) endpoint: always refused. The token it
    would return is a credential the agent would hold; the bottle's own comes from the host.
    The path is compared in every reading a server may route it by (percent-decoded, dot and
    empty segments resolved: rules.path_views), ignoring case; on a login host a path that
    cannot be read is refused too."""
    h = norm_host(host)
    for prov in lane.providers:
        targets = {lg.path.lower().rstrip("/") or "/" for lg in prov.login if lg.host == h}
        if not targets:
            continue
        views = path_views(path.encode("utf-8", "surrogateescape"))
        if views is None or any(v.decode("latin-1").lower() in targets for v in views):
            return model_login(prov.name)
    return None


def identity_refusal(provider: Provider, host: str, headers: list[tuple[str, str]],
                     credentials: list[Credential]) -> Refusal | None:
    """Each identity header present must be one the addon injects the bottle's credential
    into (it carries exactly that credential's placeholder form, once). `headers` are the
    (name, value) pairs as received. Judged as if over https, so the placeholder passes on
    any scheme (worthless there) and anything else is refused on every scheme."""
    plan = injection_plan("https", host, headers, credentials)
    for name, _value in headers:
        lname = name.lower() if name.isascii() else name
        if lname in provider.identity_headers and lname not in plan:
            return model_identity(lname, provider.name)
    return None
