"""manage.py issue_invites argument checks."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from invites.models import RegistrationInvite


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["36501", "100000000"])
def test_expires_in_beyond_the_documented_maximum_is_a_clear_error(days: str) -> None:
    """docs/decisions.md: `issue_invites --expires-in DAYS` and the admin route set the expiry
    'at most 36500 days, else ... too large'. The command refuses a larger value with a clear
    error (a very large one used to crash with OverflowError) and issues nothing."""
    with pytest.raises(CommandError, match=r"too large|at most"):
        call_command("issue_invites", "--expires-in", days, stdout=StringIO(), stderr=StringIO())
    assert not RegistrationInvite.objects.exists()
