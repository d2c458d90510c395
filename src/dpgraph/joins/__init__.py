"""Join keys across products: declared, inferred candidates with evidence, and join paths."""
