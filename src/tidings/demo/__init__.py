"""Demo and benchmark data: `generate` fills a migrated database with a realistic help desk."""

from tidings.demo.generator import DemoSummary, generate, is_empty

__all__ = ["DemoSummary", "generate", "is_empty"]
