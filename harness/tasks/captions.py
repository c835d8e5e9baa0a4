"""Class names: the 22 action captions (TSI and DA·E), the 43 GTSRB and the 10 EuroSAT CLIP class names.

TSI actions map to captions as in the LoRSU paper's appendix table. That table lists Maketea.Boilwater
twice; here it is "boiling water in a black kettle" (the caption that is otherwise unused; "making tea"
is Maketea.Insertteabag's). Pass another mapping to the TSI task to override it.
"""

from __future__ import annotations

# The 22 captions in LoRSU's DA·E class order.
ACTION_CAPTIONS: tuple[str, ...] = (
    "stirring the pot",
    "cutting bread",
    "cleaning up",
    "walking",
    "eating",
    "using a tablet",
    "cutting food",
    "holding a cup",
    "holding a glass",
    "sitting down",
    "boiling water in a black kettle",
    "holding a can",
    "watching TV",
    "lying down",
    "using a laptop",
    "making tea",
    "using a cordless phone",
    "using a white coffee machine",
    "washing dishes",
    "holding a black kettle",
    "holding a bottle",
    "reading a book",
)

# The 27 Toyota Smarthome actions LoRSU keeps → their caption.
TSI_ACTION_CAPTIONS: dict[str, str] = {
    "Cook.Cleandishes": "washing dishes",
    "Cook.Cleanup": "cleaning up",
    "Cook.Cut": "cutting food",
    "Cook.Stir": "stirring the pot",
    "Cutbread": "cutting bread",
    "Drink.Frombottle": "holding a bottle",
    "Drink.Fromcan": "holding a can",
    "Drink.Fromcup": "holding a cup",
    "Drink.Fromglass": "holding a glass",
    "Eat.Attable": "eating",
    "Enter": "walking",
    "Laydown": "lying down",
    "Leave": "walking",
    "Makecoffee.Pourgrains": "using a white coffee machine",
    "Makecoffee.Pourwater": "using a white coffee machine",
    "Maketea.Boilwater": "boiling water in a black kettle",
    "Maketea.Insertteabag": "making tea",
    "Pour.Frombottle": "holding a bottle",
    "Pour.Fromcan": "holding a can",
    "Pour.Fromkettle": "holding a black kettle",
    "Readbook": "reading a book",
    "Sitdown": "sitting down",
    "Uselaptop": "using a laptop",
    "Usetablet": "using a tablet",
    "Usetelephone": "using a cordless phone",
    "Walk": "walking",
    "WatchTV": "watching TV",
}

# The four Toyota Smarthome classes LoRSU leaves out (31 classes - 4 = 27 actions).
TSI_DROPPED_ACTIONS: tuple[str, ...] = ("Cook.Usestove", "Eat.Snack", "Getup", "Takepills")

# OpenAI CLIP's GTSRB class names; index = GTSRB ClassId. Upstream spellings ("horizonal", "bicyle") kept.
GTSRB_CLASSNAMES: tuple[str, ...] = (
    "red and white circle 20 kph speed limit",
    "red and white circle 30 kph speed limit",
    "red and white circle 50 kph speed limit",
    "red and white circle 60 kph speed limit",
    "red and white circle 70 kph speed limit",
    "red and white circle 80 kph speed limit",
    "end / de-restriction of 80 kph speed limit",
    "red and white circle 100 kph speed limit",
    "red and white circle 120 kph speed limit",
    "red and white circle red car and black car no passing",
    "red and white circle red truck and black car no passing",
    "red and white triangle road intersection warning",
    "white and yellow diamond priority road",
    "red and white upside down triangle yield right-of-way",
    "stop",
    "empty red and white circle",
    "red and white circle no truck entry",
    "red circle with white horizonal stripe no entry",
    "red and white triangle with exclamation mark warning",
    "red and white triangle with black left curve approaching warning",
    "red and white triangle with black right curve approaching warning",
    "red and white triangle with black double curve approaching warning",
    "red and white triangle rough / bumpy road warning",
    "red and white triangle car skidding / slipping warning",
    "red and white triangle with merging / narrow lanes warning",
    "red and white triangle with person digging / construction / road work warning",
    "red and white triangle with traffic light approaching warning",
    "red and white triangle with person walking warning",
    "red and white triangle with child and person walking warning",
    "red and white triangle with bicyle warning",
    "red and white triangle with snowflake / ice warning",
    "red and white triangle with deer warning",
    "white circle with gray strike bar no speed limit",
    "blue circle with white right turn arrow mandatory",
    "blue circle with white left turn arrow mandatory",
    "blue circle with white forward arrow mandatory",
    "blue circle with white forward or right turn arrow mandatory",
    "blue circle with white forward or left turn arrow mandatory",
    "blue circle with white keep right arrow mandatory",
    "blue circle with white keep left arrow mandatory",
    "blue circle with white arrows indicating a traffic circle",
    "white circle with gray strike bar indicating no passing for cars has ended",
    "white circle with gray strike bar indicating no passing for trucks has ended",
)

# EuroSAT RGB's class folders in sorted order (the class index of torchvision, CoOp's splits and LoRSU) → CLIP's
# class names. CLIP_benchmark's en_classnames.json and LoRSU list the names in this order; CLIP's data/prompts.md
# lists the same ten in another order.
EUROSAT_CLASSES: dict[str, str] = {
    "AnnualCrop": "annual crop land",
    "Forest": "forest",
    "HerbaceousVegetation": "brushland or shrubland",
    "Highway": "highway or road",
    "Industrial": "industrial buildings or commercial buildings",
    "Pasture": "pasture land",
    "PermanentCrop": "permanent crop land",
    "Residential": "residential buildings or homes or apartments",
    "River": "river",
    "SeaLake": "lake or sea",
}
