"""solid: reproduce and extend SOLID (Semantic Codebook Learning for Dynamic Recommendation Models, ACM MM 2024)."""

__version__ = "0.1.0"
