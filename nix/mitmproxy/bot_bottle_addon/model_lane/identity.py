"""Identity pinning on the model lane: the only identity that may reach the provider is the bottle's own credential, injected by the addon; any other value in a header that carries an identity is refused whatever its format, and a login from inside the bottle is refused; pure, no I/O.
"""

from ..config import Credential
from ..injection import injection_plan
from ..refusal import Refusal, model_identity, model_login
from .config import ModelLane, Provider


def login_refusal(lane: ModelLane, host: str, path: str) -> Refusal | None:
    """A request to a provider's login (OAuth token) endpoint: always refused. The token it
    would return is a credential the agent would hold; the bottle's own comes from the host."""
    prov = lane.login_for(host, path)
    return model_login(prov.name) if prov is not None else None


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
