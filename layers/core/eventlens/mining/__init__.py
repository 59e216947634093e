"""The Pattern Miner of Life Stream: places, routines and habits, mined from a user's events.

``history`` reads a user's events from the warehouse, ``patterns`` finds the patterns in them (plain
functions on plain data), ``graph`` keeps them in the habits graph (Neo4j), and ``miner`` ties the
three together for the scheduled function and the patterns route.
"""
