"""Django's ``ModelAdmin`` and ``TabularInline``, subscriptable like the types django-stubs gives
them: ``ModelAdmin[User]`` types ``get_queryset`` as ``QuerySet[User]`` and ``obj`` as a
``User``. Django's own classes take no subscript at runtime; these subclasses add only that
(``typing.Generic``). The admin modules of the apps subclass these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Generic, TypeVar

from django.contrib import admin
from django.db.models import Model

if TYPE_CHECKING:
    from django.contrib.admin import ModelAdmin, TabularInline
else:
    _Child = TypeVar("_Child", bound=Model)
    _Parent = TypeVar("_Parent", bound=Model)

    class ModelAdmin(admin.ModelAdmin, Generic[_Child]):
        pass

    class TabularInline(admin.TabularInline, Generic[_Child, _Parent]):
        pass


__all__ = ["ModelAdmin", "TabularInline"]
