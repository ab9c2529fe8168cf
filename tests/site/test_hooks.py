"""Typed hook points (haven_site.hooks) and who is connected to accounts' and chat's hooks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from haven_site.hooks import Hook


@dataclass(frozen=True)
class Happened:
    n: int


def test_handlers_run_in_order_and_once_each() -> None:
    hook: Hook[Happened] = Hook("test.happened")
    seen: list[tuple[str, int]] = []

    def first(event: Happened) -> None:
        seen.append(("first", event.n))

    def second(event: Happened) -> None:
        seen.append(("second", event.n))

    hook.connect(first)
    hook.connect(second)
    hook.connect(first)  # again: no second copy
    hook.send(Happened(1))
    assert seen == [("first", 1), ("second", 1)]
    hook.disconnect(first)
    assert hook.handlers == (second,)


def test_send_lets_a_failure_fail_the_caller() -> None:
    hook: Hook[Happened] = Hook("test.failing")
    later: list[int] = []

    def broken(event: Happened) -> None:
        raise RuntimeError("no")

    hook.connect(broken)
    hook.connect(lambda event: later.append(event.n))
    with pytest.raises(RuntimeError):
        hook.send(Happened(1))
    assert later == []


@pytest.mark.django_db
def test_send_on_commit_waits_for_the_commit_and_logs_failures(
    django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    hook: Hook[Happened] = Hook("test.committed")
    later: list[int] = []

    def broken(event: Happened) -> None:
        raise RuntimeError("no")

    hook.connect(broken)
    hook.connect(lambda event: later.append(event.n))
    with django_capture_on_commit_callbacks(execute=True):
        hook.send_on_commit(Happened(2))
        assert later == []
    assert later == [2]
    assert "test.committed handler" in caplog.text


def test_the_apps_above_accounts_connect_their_handlers() -> None:
    """Connected in AppConfig.ready(), chat before voice (INSTALLED_APPS order)."""
    from accounts import hooks
    from chat import hooks as chat_hooks

    def modules(hook: Hook[Any]) -> list[str]:
        return [h.__module__ for h in hook.handlers]

    assert modules(hooks.registering) == ["invites.actions.registration"]
    assert modules(hooks.registered) == ["invites.actions.registration"]
    assert modules(hooks.user_leaving) == ["chat.account_effects", "voice.actions"]
    assert modules(hooks.user_deleting) == ["chat.account_effects"]
    assert modules(hooks.signed_out) == ["chat.presence", "voice.actions"]
    assert modules(hooks.login_session_ended) == ["chat.presence", "voice.actions"]
    assert modules(hooks.user_blocked) == ["chat.account_effects"]
    assert modules(hooks.identity_key_changed) == ["chat.account_effects"]
    assert modules(chat_hooks.access_changed) == ["voice.actions"]
