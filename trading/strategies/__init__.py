"""Strategies: the decisions of a bot, shared by live bots and backtests."""
