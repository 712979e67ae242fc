"""nefkit's standard scoring rules, registered like any third party's."""

from nefkit import hookimpl


@hookimpl
def register_scoring_rules(register):
    from .aggregate import CountRule, MeanRule, ProratedMeanRule, ProratedSumRule, SumRule
    from .change import ReliableChangeRule
    from .derived import BandsRule, ThresholdRule
    from .neq import NeqCountRule, NeqImpactRule

    for rule in (
        SumRule(),
        MeanRule(),
        ProratedSumRule(),
        ProratedMeanRule(),
        CountRule(),
        NeqCountRule(),
        NeqImpactRule(),
        BandsRule(),
        ThresholdRule(),
        ReliableChangeRule(),
    ):
        register(rule)
