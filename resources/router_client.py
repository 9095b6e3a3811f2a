"""The OpenAI-compatible router path (OpenRouter): how a router slug is called and read back.

The think tank calls its models (`deepseek/deepseek-chat-v3.1`, `qwen/qwen3-235b-a22b-instruct`)
through an OpenAI-compatible router while its artifacts say `provider: anthropic`, so a replay is
routed by the model id (docs/domain.md §1.4): a `vendor/model` slug goes through the `openai` SDK to the
router's chat completions, with the same timeouts, retries (429/5xx/timeouts, honouring
`retry-after`) and rate governor as the Anthropic path. The router has no batch API.

A chat completion becomes the same `Reply` as a Message: `prompt_tokens` less the cached ones is
the uncached input, `prompt_tokens_details.cached_tokens` the cache reads (routers cache prefixes
implicitly, nothing is marked), `cache_write_tokens` the writes where reported, and `usage.cost`
(OpenRouter's billed amount in USD) the reply's cost. Nothing here logs the API key.
"""

import re
from typing import Any

import httpx2
import openai

from resources.rate_governor import GovernedTransport, Governor
from resources.replies import BadResponse, Reply, amount, count

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
ROUTER_SLUG = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.:-]+")  # vendor/model, e.g. deepseek/deepseek-chat-v3.1


def is_router_slug(model: str) -> bool:
    return ROUTER_SLUG.fullmatch(model) is not None


def build_client(api_key: str, base_url: str, timeout_s: float, max_retries: int, governor: Governor) -> openai.OpenAI:
    """The SDK client on the router, every chat-completions attempt through `governor`. The key is
    always explicit: without one the SDK would fall back to OPENAI_API_KEY and send it to the router."""
    http_client = openai.DefaultHttpxClient(transport=GovernedTransport(governor, httpx2.HTTPTransport()))
    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries,
                         http_client=http_client)


def chat_params(model: str, max_tokens: int, system: str, user: str) -> dict:
    """The captured system and user prompt as two messages, nothing else."""
    return {"model": model, "max_tokens": max_tokens,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}


def completion_reply(completion: Any, latency_ms: float) -> Reply:
    """A Reply from a chat completion, checked: the SDK builds models from any JSON without validating."""
    choices, usage = getattr(completion, "choices", None), getattr(completion, "usage", None)
    if not (isinstance(choices, list) and choices and usage is not None
            and isinstance(getattr(completion, "id", None), str)):
        raise BadResponse(f"the 200 reply is not a chat completion: {type(completion).__name__} without "
                          "choices/usage/id")
    text = getattr(getattr(choices[0], "message", None), "content", None)
    if not isinstance(text, str):
        raise BadResponse("the first choice of the reply has no text content")
    prompt = count(getattr(usage, "prompt_tokens", None), "prompt_tokens")
    details = getattr(usage, "prompt_tokens_details", None)
    cached = count(getattr(details, "cached_tokens", None), "prompt_tokens_details.cached_tokens")
    written = count((getattr(details, "model_extra", None) or {}).get("cache_write_tokens"),
                    "prompt_tokens_details.cache_write_tokens")
    if cached + written > prompt:
        raise BadResponse(f"usage counts {cached + written} cached of {prompt} prompt tokens")
    return Reply(
        text=text,
        model=str(getattr(completion, "model", "")),
        input_tokens=prompt - cached - written,
        output_tokens=count(getattr(usage, "completion_tokens", None), "completion_tokens"),
        cache_read_tokens=cached,
        cache_create_tokens=written,
        batch=False,
        latency_ms=latency_ms,
        message_id=completion.id,
        cost_usd=amount((getattr(usage, "model_extra", None) or {}).get("cost"), "usage.cost"),
    )
