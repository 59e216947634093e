"""HTTP routes (Powertools routers), one module per area, and the one error-to-status mapping."""
