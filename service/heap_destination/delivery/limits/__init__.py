"""Heap's rate limits: budgets, the adaptive single-event rate, and which path an event takes."""
