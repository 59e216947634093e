"""Analytics reports over the event table: plain functions taking a warehouse and typed arguments."""
