"""Request bodies of the server routes. Types are strict: a missing required field, a null for
one, or a value of the wrong JSON type is a 422 (api.md 1.3); unknown fields are ignored."""

from __future__ import annotations

from haven_site.api.fields import B64, Bool, Choice, FieldT, Int, ListOf, Perm, Str, Uuid
from haven_site.api.parsing import Body


def _opt(field: type[FieldT]) -> FieldT:
    """An optional field: absent or null both mean "not provided" (api.md 1.5)."""
    return field(required=False, allow_null=True)


class CreateServerBody(Body):
    encrypted_meta = B64()


class UpdateServerBody(Body):
    system_channel_id = _opt(Uuid)
    encrypted_meta = _opt(B64)


class CreateChannelBody(Body):
    encrypted_meta = B64()
    channel_type = _opt(Str)
    position = _opt(Int)
    category_id = _opt(Uuid)
    is_private = _opt(Bool)


class ChannelOrderEntry(Body):
    id = Uuid()
    position = Int()
    category_id = _opt(Uuid)


class ReorderChannelsBody(Body):
    order = ListOf(child=ChannelOrderEntry())


class RenameChannelBody(Body):
    encrypted_meta = B64()


class SetCategoryBody(Body):
    category_id = _opt(Uuid)


class CreateCategoryBody(Body):
    name = Str()
    position = _opt(Int)


class CategoryOrderEntry(Body):
    id = Uuid()
    position = Int()


class ReorderCategoriesBody(Body):
    order = ListOf(child=CategoryOrderEntry())


class UpdateCategoryBody(Body):
    name = _opt(Str)
    position = _opt(Int)


class CreateRoleBody(Body):
    name = Str()
    color = _opt(Str)
    permissions = _opt(Perm)
    position = _opt(Int)


class UpdateRoleBody(Body):
    name = _opt(Str)
    color = _opt(Str)
    permissions = _opt(Perm)
    position = _opt(Int)


class AssignRoleBody(Body):
    role_id = Uuid()


class OverwriteBody(Body):
    target_type = Choice("role", "member")
    target_id = Uuid()
    allow_bits = Perm()
    deny_bits = Perm()


class NicknameBody(Body):
    nickname = _opt(Str)


class TimeoutBody(Body):
    duration_seconds = Int(bits=64)
    reason = _opt(Str)


class BanBody(Body):
    reason = _opt(Str)
