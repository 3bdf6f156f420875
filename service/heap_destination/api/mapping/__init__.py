"""Between the contract's messages and the domain's inputs, outputs and settings."""
