"""Tables Terraform still holds, and the ``removed`` block that hands each one over.

After ``tablesmith apply``, a Terraform that still has a table in its state believes it owns
it: its next ``apply`` reverts tablesmith's changes (or, with the block deleted, destroys the
table). Terraform >= 1.7 forgets a resource without destroying it through a block::

    removed {
      from = module.campaigns_table
      lifecycle { destroy = false }
    }

A plan says so for every table it changes that Terraform may still hold: one tagged
``ManagedBy=Terraform`` (``tag_notice``, from the live tags: the address is not known), or
one a state file given with ``--terraform-state`` names (``state_notices``, with the exact
address: ``from`` names the module instance's module, or the resource, without instance keys,
as Terraform requires).

The state file is ``terraform show -json`` output or a ``terraform.tfstate`` (version 4):
JSON only, bounded in size, read for the addresses and table names of
``aws_dynamodb_table`` and ``aws_dynamodb_table_replica`` resources and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from tablesmith.plan import Plan

MANAGED_BY = ("ManagedBy", "Terraform")  # the tag the module's callers set (its README)


def removed_block(address: str) -> str:
    """The one-line ``removed`` block that makes Terraform forget ``address``."""
    return f"removed {{ from = {address}  lifecycle {{ destroy = false }} }}"


def tag_notice(table: str) -> str:
    """A table tagged ManagedBy=Terraform whose plan changes it (its address is unknown)."""
    return (
        f"table '{table}' is tagged {MANAGED_BY[0]}={MANAGED_BY[1]}: if Terraform still "
        "holds it, its next apply reverts this plan. Hand it over first with "
        f"`{removed_block('<its address, e.g. module.NAME>')}` (Terraform >= 1.7; "
        "`tablesmith import terraform` writes removed.tf), or pass --terraform-state to "
        "name it"
    )


def held_notice(table: str, addresses: Sequence[str]) -> str:
    """A table the given state file names (at one address or more: a table and a replica)."""
    blocks = " and ".join(f"`{removed_block(a)}`" for a in addresses)
    return (
        f"table '{table}' is still in the Terraform state ({', '.join(addresses)}): its "
        f"next apply reverts this plan. Hand it over first with {blocks} (Terraform >= "
        "1.7) in place of its block; `terraform plan` must then destroy nothing"
    )


def state_notices(plan: Plan, held: Mapping[str, Sequence[str]]) -> Plan:
    """``plan`` with a notice for each of its tables that ``held`` names (in place of the
    tag notice, which did not know the address)."""
    names = sorted({t.table_name for t in plan.desired} | {op.table for op in plan.operations})
    mine = [n for n in names if n in held]
    if not mine:
        return plan
    kept = tuple(n for n in plan.notices if not any(n == tag_notice(t) for t in mine))
    return plan.model_copy(
        update={"notices": kept + tuple(held_notice(name, held[name]) for name in mine)}
    )
