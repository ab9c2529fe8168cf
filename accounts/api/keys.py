"""Key directory routes (api.md 2.5): identity keys, prekeys, bundles, key backup."""

from __future__ import annotations

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from accounts.actions import keys
from haven_site.api.encoding import b64, ts
from haven_site.api.fields import B64, Int, ListOf
from haven_site.api.parsing import Body, parse_body
from haven_site.api.views import ApiView


class IdentityBody(Body):
    identity_key = B64()
    signed_prekey = B64()
    signed_prekey_signature = B64()


class PrekeysBody(Body):
    prekeys = ListOf(child=B64())


class BackupBody(Body):
    encrypted_data = B64()
    nonce = B64()
    salt = B64()
    version = Int(required=False, allow_null=True)


class UserKeysView(ApiView):
    def get(self, request: Request, user_id: uuid.UUID) -> Response:
        bundle = keys.key_bundle(user_id)
        return Response(
            {
                "identity_key": b64(bundle.identity_key),
                "signed_prekey": b64(bundle.signed_prekey),
                "signed_prekey_sig": b64(bundle.signed_prekey_sig),
                "one_time_prekey": b64(bundle.one_time_prekey),
            }
        )


class IdentityView(ApiView):
    def put(self, request: Request) -> Response:
        body = parse_body(request, IdentityBody)
        keys.do_set_identity(
            self.user, body["identity_key"], body["signed_prekey"], body["signed_prekey_signature"]
        )
        return Response({"message": "Keys updated"})


class PrekeysView(ApiView):
    def post(self, request: Request) -> Response:
        body = parse_body(request, PrekeysBody)
        total = keys.do_upload_prekeys(self.user, body["prekeys"])
        return Response({"message": "Prekeys uploaded", "total_available": total})

    def delete(self, request: Request) -> Response:
        deleted = keys.do_clear_prekeys(self.user)
        return Response({"message": "Unused prekeys cleared", "deleted": deleted})


class PrekeyCountView(ApiView):
    def get(self, request: Request) -> Response:
        count = keys.unused_prekey_count(self.user.id)
        return Response({"count": count, "needs_replenishment": count < keys.REPLENISH_BELOW})


class BackupView(ApiView):
    def put(self, request: Request) -> Response:
        body = parse_body(request, BackupBody)
        keys.do_put_backup(
            self.user, body["encrypted_data"], body["nonce"], body["salt"], body["version"]
        )
        return Response({"ok": True})

    def get(self, request: Request) -> Response:
        backup = keys.key_backup(self.user)
        return Response(
            {
                "encrypted_data": b64(backup.encrypted_data),
                "nonce": b64(backup.nonce),
                "salt": b64(backup.salt),
                "version": backup.version,
                "updated_at": ts(backup.updated_at),
            }
        )

    def delete(self, request: Request) -> Response:
        keys.do_delete_backup(self.user)
        return Response({"ok": True})


class BackupStatusView(ApiView):
    def get(self, request: Request) -> Response:
        backup = keys.backup_status(self.user)
        return Response(
            {
                "has_backup": backup is not None,
                "version": backup.version if backup else None,
                "updated_at": ts(backup.updated_at) if backup else None,
            }
        )
