"""Stub prompts (docs/domain.md §1.2, docs/real-shapes.md §4): fixed strings producers write where the real prompt was
never captured. A replay of one cannot reproduce the decision, so it is never sent (nor priced)."""

import re

PLACEHOLDER_MARKER = "not yet wired through track_llm_cost"  # the capture helper's fallback
STUB_SYSTEM_PREFIX, STUB_SYSTEM_MARKER = "<system prompt for agent_id='", "not yet plumbed"  # the cost tracker's
STUB_USER_PREFIX, STUB_USER_SUFFIX = "<user prompt for ", "not provided>"  # the cost tracker's, no user prompt
# A `str.format` replacement field, `{identifier}`, not an escaped `{{identifier}}`.
FORMAT_FIELD = re.compile(r"(?<!\{)\{[A-Za-z_]\w*\}(?!\})")
# Rendered data: a JSON (or Python repr) object opening with a quoted key. `{{"key": ...}}` is an
# escaped brace of an unrendered template (valid JSON never has `{{`), so it does not count.
DATA_OBJECT = re.compile(r"""(?<!\{)\{\s*["'][^"'\n]*["']\s*:""")


def is_unrendered_template(prompt: str) -> bool:
    """A `str.format` template that was never filled: it has a `{identifier}` field and no data
    object. A rendered prompt embeds its data (the think tank's snapshot as JSON): any
    `{"key": ...}` object in it means it was rendered, whatever braces its text also carries. A
    rendered prompt without data objects that still shows a bare `{field}` (text data, a template
    that escaped the field) is taken for a template: that errs toward not paying for a replay,
    and is counted."""
    return FORMAT_FIELD.search(prompt) is not None and DATA_OBJECT.search(prompt) is None


def is_placeholder(system_prompt: str, user_prompt: str) -> bool:
    """Stub prompts (docs/domain.md §1.2, docs/real-shapes.md §4): both blank, the old capture marker in either, the
    cost tracker's placeholder system prompt or missing-user-prompt text, or an unrendered user
    template. Any one makes the pair unreplayable: a prompt without the data the agent saw
    cannot reproduce its decision."""
    system, user = system_prompt.strip(), user_prompt.strip()
    return (
        (not system and not user)
        or PLACEHOLDER_MARKER in system or PLACEHOLDER_MARKER in user
        or (system.startswith(STUB_SYSTEM_PREFIX) and STUB_SYSTEM_MARKER in system)
        or (user.startswith(STUB_USER_PREFIX) and user.endswith(STUB_USER_SUFFIX))
        or is_unrendered_template(user)
    )
