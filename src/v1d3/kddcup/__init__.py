"""kddcup"""
