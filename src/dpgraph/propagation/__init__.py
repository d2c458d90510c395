"""Classification propagation along column lineage, and schema drift (pure computations)."""
