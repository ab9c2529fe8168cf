from __future__ import annotations

from typing import Any

from haven_site.api.encoding import ts
from invites.models import RegistrationInvite, ServerInvite


def registration_invite(invite: RegistrationInvite) -> dict[str, Any]:
    return {
        "id": str(invite.id),
        "code": invite.code,
        "created_by": str(invite.created_by_id) if invite.created_by_id else None,
        "used": invite.used,
        "used_by": str(invite.used_by_id) if invite.used_by_id else None,
        "expires_at": ts(invite.expires_at),
        "created_at": ts(invite.created_at),
    }


def server_invite(invite: ServerInvite) -> dict[str, Any]:
    """InviteResponse (api.md 1.9)."""
    return {
        "id": str(invite.id),
        "code": invite.code,
        "server_id": str(invite.server_id),
        "max_uses": invite.max_uses,
        "use_count": invite.use_count,
        "expires_at": ts(invite.expires_at),
        "created_at": ts(invite.created_at),
    }
