"""medaid: catastrophic-illness medical assistance (重特大疾病医疗保险和救助).

Policies as data, a pure settlement engine that chains basic insurance, critical-illness
insurance and medical assistance, and every amount explained by rule id and article.
"""

__version__ = "0.1.0"
