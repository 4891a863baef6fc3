"""FlowState: what the hooks remember about one flow (the agent's request as it meant it, the refusal, body accounting, bytes, credentials); plain data, no I/O.
"""

from dataclasses import dataclass, field


@dataclass
class FlowState:
    t0: float  # time.monotonic() when first seen: the log's duration starts here
    ts: float  # wall-clock time of the request head: the log's `ts`
    method: str = ""
    scheme: str | None = None
    host: str = ""
    port: int | None = None
    path: str | None = None
    refused: tuple[str, str] | None = None  # (code, message) of the addon's own refusal
    discard: bool = False  # body chunks are dropped (the request is refused)
    buffered: int = 0  # bytes of this request's body counted against the budget
    body_len: int = 0  # request body bytes handed to pipelock
    bytes_down: int = 0
    credentials: list[str] = field(default_factory=list)
    retargeted: bool = False
    pipelock_said: str | None = None  # pipelock's answer before the addon added to it
    logged: bool = False
    lane: str = "web"  # "model": a provider's API host (model_lane/), judged by the model lane's policy
    redactions: dict = field(default_factory=dict)  # model lane: class -> count of `<redacted:CLASS>`
    server_egress: list = field(default_factory=list)  # model lane: what the provider may reach for it
