"""What the loop logs for a reader of the log afterwards, under the ``runner`` logger hierarchy
(``runner._loop.events``): the study's start and end, each crash (with its error) and retry, a
trial given up, each new incumbent. INFO, except a trial given up (WARNING), so nothing shows
unless the program configures logging (``logging.basicConfig(level=logging.INFO)``)."""

from __future__ import annotations

import logging
from typing import Any

from trials import TrialInfo, TrialValue

__all__ = ["crashed", "gave_up", "interrupted", "new_incumbent", "study_ended",
           "study_started"]

log = logging.getLogger(__name__)

_ERROR_CHARS = 300


def _error(value: TrialValue) -> str:
    extra = value.additional_info
    text = str(extra.get("error") or extra.get("error_type") or "no error recorded")
    text = " ".join(text.split())  # one line in the log
    return text if len(text) <= _ERROR_CHARS else text[:_ERROR_CHARS] + "..."


def _name(study: str | None) -> str:
    return "study" if study is None else f"study {study!r}"


def study_started(study: str | None, optimizer: Any, runner: Any, journal: str | None,
                  n_resumed: int, n_unfinished: int) -> None:
    meta = getattr(runner, "meta", None)
    target = meta.get("target") if isinstance(meta, dict) else None
    log.info("%s started: %s on %s (target %s), journal %s, %d finished trials resumed, %d to "
             "run again", _name(study), type(optimizer).__name__, type(runner).__name__, target,
             journal or "none", n_resumed, n_unfinished)


def study_ended(study: str | None, state: str, reason: str | None, elapsed: float,
                n_done: int, n_told: int, n_failed: int, n_retried: int,
                incumbent: tuple[TrialInfo, TrialValue] | None) -> None:
    best = "none" if incumbent is None else _cost(incumbent)
    log.info("%s %s after %.1f s%s: %d trials in the history (%d this session), %d failed, "
             "%d retries; incumbent %s", _name(study), state, elapsed,
             f" ({reason})" if reason and reason != state else "", n_done, n_told, n_failed,
             n_retried, best)


def crashed(trial: int, attempt: int, value: TrialValue, retry: int, retries: int) -> None:
    log.info("trial %d crashed on attempt %d: %s; retrying (retry %d of %d)", trial, attempt,
             _error(value), retry, retries)


def interrupted(trial: int, attempt: int, reason: str, job: str | None, requeue: int) -> None:
    log.info("trial %d, attempt %d, was interrupted (%s%s); running it again (requeue %d), "
             "no retry spent", trial, attempt, reason, f", job {job}" if job else "", requeue)


def gave_up(trial: int, attempt: int, value: TrialValue, raising: bool) -> None:
    log.warning("trial %d crashed on all %d attempt(s), giving up%s: %s", trial, attempt + 1,
                ", ending the loop" if raising else ", the optimizer is told CRASHED",
                _error(value))


def _cost(pair: tuple[TrialInfo, TrialValue]) -> str:
    info, value = pair
    at = "" if info.budget is None else f" at budget {info.budget:g}"
    return f"cost {value.cost!r}{at}"


def new_incumbent(trial: int, pair: tuple[TrialInfo, TrialValue]) -> None:
    log.info("new incumbent: trial %d, %s, config %s", trial, _cost(pair), dict(pair[0].config))
