"""Thin views: validate, call one service or selector, render. One template serves page and fragment."""
