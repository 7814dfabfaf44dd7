"""prism-accept: proves that a Prism backend plugin does what its registry entry declares."""
