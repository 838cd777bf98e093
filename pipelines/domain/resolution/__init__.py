"""Entity resolution: which source records are one real-world market entity.

records -> blocking (candidate pairs) -> compare (per-feature levels) -> weights (Fellegi-Sunter, learned
from valid-USCC pairs) -> clusters (USCC groups + accepted pairs under hard constraints and judgements)
-> entity_ids (stable across runs).
"""
