"""Shopper-style search queries derived from PriceRunner's catalogue (``data.queries=shopper``). PriceRunner
has no query log: these queries are **derived** from the catalogue's own structure, not typed by shoppers.

From each product's canonical name (``Cluster Label``) and category: its brand (the name's first word), the
shopper's word for the category (``tv``, ``fridge freezer``, ``phone``), and the attributes the name states
(a colour, ``integrated``, ``dual sim``, a capacity such as ``64gb``). Two kinds of query:

- **broad**: ``<brand> <category>`` (``samsung phone``) for each brand with at least ``MIN_PRODUCTS`` products
  in a category; every offer of those products has grade 2;
- **attribute**: ``<brand> <attribute> <category>`` (``bosch integrated dishwasher``, ``apple 64gb phone``) for
  each attribute that some but not all of the brand's products in the category state; offers of products
  with the attribute have grade 2, offers of the brand's other products in the category grade 1.

So relevance is graded (exact 2, same brand and type 1), queries have many relevant offers, and an offer
title that omits the attribute the product has still counts: the product, not the title, is judged.
"""

from __future__ import annotations

import re

import pandas as pd

from auglab.data.sources.search_files import SearchCollection

CATEGORY_WORDS = {"CPUs": "cpu", "Digital Cameras": "camera", "Dishwashers": "dishwasher", "Freezers": "freezer",
                  "Fridge Freezers": "fridge freezer", "Fridges": "fridge", "Microwaves": "microwave",
                  "Mobile Phones": "phone", "TVs": "tv", "Washing Machines": "washing machine"}
ATTRIBUTES = ("stainless steel", "rose gold", "dual sim", "integrated", "white", "black", "silver", "grey", "gold",
              "blue", "red", "green", "pink")
CAPACITY = re.compile(r"\b(\d+)\s?(gb|tb)\b")
MIN_PRODUCTS = 3


def attributes(name: str) -> set[str]:
    """The attributes a canonical product name states, lower-cased (capacities written as ``64gb``)."""
    name = name.lower()
    found = {a for a in ATTRIBUTES if re.search(rf"\b{a}\b", name)}
    if "rose gold" in found:
        found.discard("gold")
    return found | {f"{number}{unit}" for number, unit in CAPACITY.findall(name)}


def shopper_collection(offers: pd.DataFrame) -> SearchCollection:
    """Broad and attribute queries over every offer of ``offers`` (see the module docstring), in a fixed order."""
    products = offers.drop_duplicates("Cluster ID")[["Cluster ID", "Cluster Label", "Category Label"]]
    offers_of = offers.groupby("Cluster ID").indices  # product -> offer rows
    queries, relevant, grades = [], [], []
    for (brand, category), group in products.groupby(
            [products["Cluster Label"].str.split().str[0].str.lower(), "Category Label"], sort=True):
        if len(group) < MIN_PRODUCTS or category not in CATEGORY_WORDS:
            continue
        noun = CATEGORY_WORDS[category]
        stated = {cid: attributes(label) for cid, label in zip(group["Cluster ID"], group["Cluster Label"],
                                                               strict=True)}
        queries.append(f"{brand} {noun}")
        rows = sorted(int(r) for cid in stated for r in offers_of[cid])
        relevant.append(rows)
        grades.append([2.0] * len(rows))
        for attribute in sorted(set().union(*stated.values())):
            having = {cid for cid, found in stated.items() if attribute in found}
            if len(having) == len(stated):
                continue  # every product of the brand has it: the same query as the broad one
            graded = sorted((int(r), 2.0 if cid in having else 1.0) for cid in stated for r in offers_of[cid])
            queries.append(f"{brand} {attribute} {noun}")
            relevant.append([r for r, _ in graded])
            grades.append([g for _, g in graded])
    return SearchCollection(queries, offers["Product Title"].tolist(), relevant, grades,
                            offers["Product ID"].tolist(), [f"shopper:{q}" for q in queries])
