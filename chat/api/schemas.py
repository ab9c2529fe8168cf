"""Request bodies of the server routes. Types are strict: a missing required field, a null for
one, or a value of the wrong JSON type is a 422 (api.md 1.3); unknown fields are ignored."""

from __future__ import annotations

from rest_framework import serializers

from haven_site.api.fields import B64, Bool, Choice, Int, ListOf, Perm, Str, Uuid


def _opt(field: type[serializers.Field]) -> serializers.Field:
    """An optional field: absent or null both mean "not provided" (api.md 1.5)."""
    return field(required=False, allow_null=True)


class CreateServerBody(serializers.Serializer):
    encrypted_meta = B64()


class UpdateServerBody(serializers.Serializer):
    system_channel_id = _opt(Uuid)
    encrypted_meta = _opt(B64)


class CreateChannelBody(serializers.Serializer):
    encrypted_meta = B64()
    channel_type = _opt(Str)
    position = _opt(Int)
    category_id = _opt(Uuid)
    is_private = _opt(Bool)


class ChannelOrderEntry(serializers.Serializer):
    id = Uuid()
    position = Int()
    category_id = _opt(Uuid)


class ReorderChannelsBody(serializers.Serializer):
    order = ListOf(child=ChannelOrderEntry())


class RenameChannelBody(serializers.Serializer):
    encrypted_meta = B64()


class SetCategoryBody(serializers.Serializer):
    category_id = _opt(Uuid)


class CreateCategoryBody(serializers.Serializer):
    name = Str()
    position = _opt(Int)


class CategoryOrderEntry(serializers.Serializer):
    id = Uuid()
    position = Int()


class ReorderCategoriesBody(serializers.Serializer):
    order = ListOf(child=CategoryOrderEntry())


class UpdateCategoryBody(serializers.Serializer):
    name = _opt(Str)
    position = _opt(Int)


class CreateRoleBody(serializers.Serializer):
    name = Str()
    color = _opt(Str)
    permissions = _opt(Perm)
    position = _opt(Int)


class UpdateRoleBody(serializers.Serializer):
    name = _opt(Str)
    color = _opt(Str)
    permissions = _opt(Perm)
    position = _opt(Int)


class AssignRoleBody(serializers.Serializer):
    role_id = Uuid()


class OverwriteBody(serializers.Serializer):
    target_type = Choice("role", "member")
    target_id = Uuid()
    allow_bits = Perm()
    deny_bits = Perm()


class NicknameBody(serializers.Serializer):
    nickname = _opt(Str)


class TimeoutBody(serializers.Serializer):
    duration_seconds = Int(bits=64)
    reason = _opt(Str)


class BanBody(serializers.Serializer):
    reason = _opt(Str)
