"""Venues: where orders go. The paper matching engine now, ccxt exchanges behind the same
interface later."""
