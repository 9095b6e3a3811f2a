"""Replaying artifacts under a model, beneath the `concordance` and `noise_ceiling` assets (which are thin
on top of it; nothing here imports them):

- `planning`: which index rows are replayed, one task per request, what the budget admits;
- `engine`: the call loop of a day under one model (`DayReplay`) and what the replay assets share;
- `step`: what one step's workers share (in-flight twins, spend, the halt);
- `cache`: every reply under its request's content address; `claims`: one payer across runs;
- `batches`: backfills as Message Batches; `rows`: the replay row, its outcomes, day counts;
- `rate_card`: what a call costs; `spend_plan`: what a stretch of replays will cost, before any call.
"""
