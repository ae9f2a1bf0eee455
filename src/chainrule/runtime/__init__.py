"""The runtime: sessions, the variable store, execution plans and the passes that rewrite them."""
