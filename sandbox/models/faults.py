"""Misbehaviour on demand: latency, errors, rate limits, outages and slow batches."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class FaultProfile(models.Model):
    """Faults for the whole sandbox, one catalog or one token (defaults: none).

    Set from the admin or with ``sandbox.faults.configure(...)``. When several
    profiles apply to a call, the worst of each setting wins.
    """

    class Scope(models.TextChoices):
        GLOBAL = "global", "Every call"
        CATALOG = "catalog", "One catalog"
        TOKEN = "token", "One access token"

    scope = models.CharField(max_length=8, choices=Scope.choices)
    catalog = models.OneToOneField(
        "sandbox.ProductCatalog", on_delete=models.CASCADE, null=True, blank=True, related_name="fault_profile"
    )
    token = models.OneToOneField(
        "sandbox.AccessToken", on_delete=models.CASCADE, null=True, blank=True, related_name="fault_profile"
    )
    latency_ms = models.PositiveIntegerField(default=0, help_text="Added to every call.")
    error_rate = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of calls answered with a transient 500 (code 2, is_transient).",
    )
    fail_next = models.PositiveIntegerField(default=0, help_text="The next N calls fail with a transient 500.")
    lose_answer_next = models.PositiveIntegerField(
        default=0,
        help_text="The next N calls that change something do their work, then answer a transient 500 "
        '(the answer is lost, the change is not: Meta\'s "an error does not mean it was not created").',
    )
    rate_limited = models.BooleanField(default=False, help_text="Answer 80014 (batch) / 80009 (other) now.")
    rate_limit_per_hour = models.PositiveIntegerField(
        null=True, blank=True, help_text="Enforce this many calls per hour and use case (blank: not enforced)."
    )
    regain_access_minutes = models.PositiveIntegerField(
        default=1, help_text="estimated_time_to_regain_access reported while rate limited."
    )
    outage = models.BooleanField(default=False, help_text="Answer 503 (code 2, is_transient) to every call.")
    batch_delay_seconds = models.FloatField(
        null=True, blank=True, help_text="Processing delay of batches and feed uploads (blank: the setting)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope"], condition=models.Q(scope="global"), name="sandbox_fault_one_global"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(scope="global", catalog__isnull=True, token__isnull=True)
                    | models.Q(scope="catalog", catalog__isnull=False, token__isnull=True)
                    | models.Q(scope="token", catalog__isnull=True, token__isnull=False)
                ),
                name="sandbox_fault_scope_target",
            ),
            models.CheckConstraint(
                condition=models.Q(error_rate__gte=0, error_rate__lte=1), name="sandbox_fault_error_rate_range"
            ),
        ]

    def __str__(self) -> str:
        target = self.catalog or self.token or "everything"
        return f"Faults for {target}"

    def save(self, *args, **kwargs) -> None:
        self.scope = self.scope_of_target()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.scope = self.scope_of_target()
        if self.catalog_id is not None and self.token_id is not None:
            raise ValidationError("Choose a catalog or a token, not both.")
        if self.scope == self.Scope.GLOBAL:
            others = FaultProfile.objects.filter(scope=self.Scope.GLOBAL).exclude(pk=self.pk)
            if others.exists():
                raise ValidationError("There is already a profile for every call; change that one instead.")

    def scope_of_target(self) -> str:
        """The scope follows the target: a catalog, a token, or (neither) every call."""
        if self.catalog_id is not None:
            return self.Scope.CATALOG
        if self.token_id is not None:
            return self.Scope.TOKEN
        return self.Scope.GLOBAL

    @property
    def is_quiet(self) -> bool:
        """True when this profile changes nothing."""
        return not (
            self.latency_ms
            or self.error_rate
            or self.fail_next
            or self.rate_limited
            or self.rate_limit_per_hour
            or self.outage
            or self.batch_delay_seconds is not None
        )
