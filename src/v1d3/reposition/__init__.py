"""reposition"""
