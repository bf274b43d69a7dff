"""Township names as ledgers write them, matched to division codes once, at import.

Order of trust: the code in the file; a confirmed alias; the exact name; the name without its
suffix (禄脿 / 禄脿街道 / 禄脿街道办事处) and without a county prefix, within the county when the
file says which; and only then fuzzy candidates (rapidfuzz on the characters, pypinyin on the
sound) that a person must confirm. Nothing fuzzy is ever accepted on its own.
"""
import re
import unicodedata
from dataclasses import dataclass, field

import pandas as pd
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

SUFFIXES = ("街道办事处", "地区办事处", "镇人民政府", "乡人民政府", "人民政府", "办事处", "街道办", "街道",
            "民族乡", "苏木", "地区", "镇", "乡")
COUNTY_SUFFIXES = ("自治县", "自治旗", "区", "县", "市", "旗")
# the ways an address writes a township after its distinctive part (墟沟街道, 墟沟镇, 墟沟街道办事处)
ADDRESS_SUFFIXES = ("街道办事处", "街道办", "街道", "镇", "乡")
# what follows a village's, a road's or a building's name: 墟沟村 and 墟沟路 are not 墟沟街道
NOT_A_TOWNSHIP_AFTER = r"村|社区|居委|居民委员会|组|路|街(?!道)|巷|弄|小区|大道|大街|广场|花园|公寓|苑|大厦|号|港|桥|山|湖|河"


def clean(name: object) -> str:
    """Full-width to half-width, every space removed (names never contain spaces)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(name or "")))


def core(name: object) -> str:
    """The distinctive part of a township name: 禄脿街道办事处 -> 禄脿.

    Parameters
    ----------
    name : the name as written.

    Returns
    -------
    The cleaned name without one administrative suffix; the name itself when nothing would
    remain (a township called 镇).
    """
    text = clean(name)
    text = re.sub(r"[(（][^)）]*[)）]$", "", text)  # 新浦街道(开发区) -> 新浦街道
    for suffix in SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def county_core(name: object) -> str:
    text = clean(name)
    for suffix in COUNTY_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            return text[: -len(suffix)]
    return text


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str
    county_name: str
    score: float


@dataclass(frozen=True)
class Match:
    code: str | None
    how: str | None                   # code | alias | exact | normalised | None
    problem: str | None = None        # unknown_code | ambiguous | unmatched | None
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)
    note: str | None = None           # county_unknown | code_name_conflict (matched, but say so)


class Matcher:
    """Matches (county, township name, township code) triples against the register.

    Parameters
    ----------
    townships : DataFrame with region_code, name, county_code, county_name, city_code, in_atlas
        (every township of the register, plus any added from boundary files).
    counties : DataFrame with region_code, name, city_code (the register's counties).
    aliases : DataFrame with alias, county_code ('' = anywhere), region_code (confirmed by people).
    """

    def __init__(self, townships: pd.DataFrame, counties: pd.DataFrame, aliases: pd.DataFrame | None = None,
                 cities: list[str] | None = None):
        self.towns = townships.set_index("region_code", drop=False)
        self.towns["core"] = [core(n) for n in self.towns["name"]]
        self.towns["clean"] = [clean(n) for n in self.towns["name"]]
        self.counties = counties
        atlas = self.towns[self.towns["in_atlas"].astype(bool)]
        self.atlas_cities = set(atlas["city_code"].dropna())
        self.atlas_codes = set(atlas.index)
        self.aliases = {}
        if aliases is not None:
            for row in aliases.itertuples():
                self.aliases[(clean(row.alias), row.county_code or "")] = row.region_code
        city_of = dict(zip(counties["region_code"], counties["city_code"]))
        self._county_names = sorted(
            {(clean(n), c) for n, c in zip(counties["name"], counties["region_code"])}
            | {(county_core(n), c) for n, c in zip(counties["name"], counties["region_code"])},
            # longest first; of two counties with one name (海州区 in 连云港 and in 阜新), the atlas's first
            key=lambda nc: (-len(nc[0]), city_of.get(nc[1]) not in self.atlas_cities, nc[1]),
        )
        self._counties_named: dict[str, set[str]] = {}
        for county_name, code in self._county_names:
            self._counties_named.setdefault(county_name, set()).add(code)
        # 连云港市连云区… : a city prefix goes first (longest names first: 连云港市 before 连云港)
        # (full names only: 朝阳 without 市 is as likely 朝阳区 or 朝阳街道 as 朝阳市)
        self._city_names = sorted({clean(n) for n in cities or []}, key=lambda n: -len(n))
        self._address_patterns: dict = {}
        # the county names an address may start with: the atlas's cities' (城区, 郊区 elsewhere in
        # China would eat 老城区 of an address here), longest first
        ours = counties[counties["city_code"].isin(self.atlas_cities)] if self.atlas_cities else counties
        self._address_counties = sorted(set(ours["name"].map(clean)), key=lambda n: (-len(n), n))
        self._pinyin: dict[str, str] = {}
        self._cache: dict[tuple, Match] = {}
        self._pool_cache: dict = {}

    # ---- counties -----------------------------------------------------------------------------

    def county_code(self, county: str | None) -> str | None:
        """The county a ledger's 区县 cell names (a code, a name, or a name without 区/县)."""
        text = clean(county)
        if not text:
            return None
        if re.fullmatch(r"\d{6}(\d{6})?", text):
            code = text.ljust(12, "0")
            return code if code in set(self.counties["region_code"]) else None
        hits = self.counties[(self.counties["name"].map(clean) == text)
                             | (self.counties["name"].map(county_core) == county_core(text))]
        if len(hits) > 1 and self.atlas_cities:
            hits = hits[hits["city_code"].isin(self.atlas_cities)] if hits["city_code"].isin(self.atlas_cities).any() else hits
        return hits["region_code"].iloc[0] if len(hits) == 1 else None

    def _strip_county(self, name: str) -> tuple[str, str | None, str | None]:
        # 海州区新浦街道 -> (新浦街道, 海州区's code, 海州区), only when a township name remains
        for city in self._city_names:
            if len(city) >= 2 and name.startswith(city) and len(core(name[len(city):])) >= 2:
                name = name[len(city):]
                break
        for county_name, code in self._county_names:
            rest = name[len(county_name):]
            if len(county_name) >= 2 and name.startswith(county_name) and len(core(rest)) >= 2 \
                    and rest not in SUFFIXES:
                return rest, code, county_name
        return name, None, None

    # ---- townships ----------------------------------------------------------------------------

    def match(self, name: str | None, code: str | None = None, county: str | None = None) -> Match:
        key = (name, code, county)
        if key not in self._cache:
            self._cache[key] = self._match(name, code, county)
        return self._cache[key]

    def _pools(self, county_code: str | None) -> list[pd.DataFrame]:
        if county_code not in self._pool_cache:
            self._pool_cache[county_code] = self._make_pools(county_code)
        return self._pool_cache[county_code]

    def _make_pools(self, county_code: str | None) -> list[pd.DataFrame]:
        if county_code:
            return [self.towns[self.towns["county_code"] == county_code]]
        pools = []
        if self.atlas_codes:
            pools.append(self.towns[self.towns.index.isin(self.atlas_codes)])
            pools.append(self.towns[self.towns["city_code"].isin(self.atlas_cities)])
        pools.append(self.towns)
        return pools

    def _match(self, name: str | None, code: str | None, county: str | None) -> Match:
        written = clean(name)
        county_code = self.county_code(county)
        note = "county_unknown" if county and clean(county) and not county_code else None
        if code:
            if code in self.towns.index:
                known = self.towns.loc[code]
                if written and core(written) not in (known["core"], core(self._strip_county(written)[0])):
                    note = "code_name_conflict"
                return Match(code, "code", note=note)
            if not written:
                return Match(None, None, "unknown_code")
        if not written:
            return Match(None, None, "unmatched")
        for alias_key in ((written, county_code or ""), (written, "")):
            if alias_key in self.aliases and self.aliases[alias_key] in self.towns.index:
                return Match(self.aliases[alias_key], "alias", note=note)
        stripped, prefix_county, prefix_name = self._strip_county(written)
        # every county the prefix can name (two counties are called 海州区)
        prefix_counties = self._counties_named.get(prefix_name, set())
        tries = [("clean", written, "exact"), ("core", core(written), "normalised")]
        if stripped != written:  # 海州区新浦街道: the same again without the county, within that county
            tries += [("clean", stripped, "normalised"), ("core", core(stripped), "normalised")]
        pools = self._pools(county_code)
        for number, pool in enumerate(pools):
            for index, (column, value, how) in enumerate(tries):
                hits = pool[pool[column] == value]
                if index >= 2 and not county_code:  # 海州区朝阳街道 is not 连云区's 朝阳街道
                    hits = hits[hits["county_code"].isin(prefix_counties)]
                if len(hits) == 1 and self.atlas_codes and not county_code and number == len(pools) - 1:
                    # a name known only outside the atlas's cities (新蒲街道 in 遵义 for 新浦街道):
                    # a person decides, with the atlas's near misses beside it
                    near = self._fuzzy(core(stripped), pools[0])
                    return Match(None, None, "unmatched", self._candidates(hits, 100.0) + near, note)
                if len(hits) == 1:
                    return Match(hits.index[0], how, note=note)
                if len(hits) > 1:
                    return Match(None, None, "ambiguous", self._candidates(hits, 100.0), note)
        if prefix_county and not county_code:
            for column, value, how in tries[2:]:
                pool = self._pools(prefix_county)[0]
                hits = pool[pool[column] == value]
                if len(hits) == 1:
                    return Match(hits.index[0], how, note=note)
        pool = self._pools(county_code or prefix_county)[0]
        return Match(None, None, "unmatched", self._fuzzy(core(stripped), pool), note)

    def names_a_county(self, name: str | None) -> bool:
        """Whether a township name as written starts with a county's name (海州区朝阳街道)."""
        return bool(name) and self._strip_county(clean(name))[0] != clean(name)

    def near_in_county(self, name: str | None, county_code: str, limit: int = 3) -> tuple[Candidate, ...]:
        """The townships of one county whose names are nearest to ``name``.

        Parameters
        ----------
        name : a township name as written (白塔镇), with or without a county prefix.
        county_code : the county to look in (12 digits).
        limit : at most this many candidates, best first.

        Returns
        -------
        Candidates scored 0–100 by text (and sound) likeness; none for a blank name.
        """
        if not name:
            return ()
        stripped, _county, _prefix = self._strip_county(clean(name))
        return self._fuzzy(core(stripped), self._pools(county_code)[0], limit)

    def _candidates(self, hits: pd.DataFrame, score: float) -> tuple[Candidate, ...]:
        return tuple(Candidate(c, n, cn or "", score)
                     for c, n, cn in zip(hits.index, hits["name"], hits["county_name"]))[:8]

    def _sound(self, text: str) -> str:
        if text not in self._pinyin:
            self._pinyin[text] = "".join(lazy_pinyin(text))
        return self._pinyin[text]

    def _fuzzy(self, wanted: str, pool: pd.DataFrame, limit: int = 3) -> tuple[Candidate, ...]:
        if pool.empty or not wanted:
            return ()
        cores = pool["core"].tolist()
        by_text = process.extract(wanted, cores, scorer=fuzz.ratio, limit=limit * 3, score_cutoff=40)
        scored: dict[str, float] = {}
        for _text, score, index in by_text:
            scored[pool.index[index]] = score
        if len(pool) <= 5000:  # the sound of a name catches 同音 typos (绿脿 for 禄脿)
            sound = self._sound(wanted)
            for index, text in enumerate(cores):
                same = fuzz.ratio(sound, self._sound(text))
                if same >= 85:
                    code = pool.index[index]
                    scored[code] = max(scored.get(code, 0), same - 5)
        best = sorted(scored.items(), key=lambda kv: -kv[1])[:limit]
        return tuple(Candidate(code, pool.loc[code, "name"], pool.loc[code, "county_name"] or "", round(score, 1))
                     for code, score in best)


    # ---- addresses ----------------------------------------------------------------------------

    def in_address(self, address: str | None, county: str | None = None) -> tuple[str | None, Match]:
        """The township an address names (纠纷发生地点 of a file with no township column).

        Parameters
        ----------
        address : the address as written (free text; never kept or returned).
        county : the file's 区县 cell, if it has one: only that county's townships are looked for.

        Returns
        -------
        (name found, match). The name is the part of the address that names a township, as
        written (墟沟街道, or 墟沟 without its suffix), never the rest of the address. The match
        has a code only for a name a person confirmed before (an alias); otherwise its problem is
        "address_township" with the register's township(s) of that name as candidates, for a
        person to confirm, or "address_no_township" when no township name is in the address.
        City and county names are taken out first (连云港市连云区 does not name 连云街道); a name
        with its suffix wins over a bare one, the longest over a shorter, and a bare name followed
        by 村, 社区, 路 … names a village or a road, not a township.
        """
        text = clean(address)
        county_code = self.county_code(county)
        for city in self._city_names:
            for form in {city, county_core(city)}:
                if len(form) >= 3:
                    text = text.replace(form, "|")
        for county_name in self._address_counties:
            if len(county_name) >= 2 and county_name in text:
                if not county_code:  # of two counties of one name (海州区), the atlas's
                    named = sorted(self._counties_named.get(county_name, set()))
                    ours = [c for c in named if self._city_of_county(c) in self.atlas_cities]
                    county_code = (ours or named)[0] if len(ours or named) == 1 else None
                text = text.replace(county_name, "|")
        pattern, codes_of = self._address_pattern(county_code)
        if pattern is None:
            return None, Match(None, None, "address_no_township")
        hits = [m.group(0) for m in pattern.finditer(text)]
        if not hits:
            return None, Match(None, None, "address_no_township")
        found = max(hits, key=len)  # the first of the longest
        codes = codes_of[found]
        if len(codes) == 1 and codes[0][1] == "alias":
            return found, Match(codes[0][0], "alias")
        towns = [c for c, how in codes if how != "alias"]
        hits_frame = self.towns.loc[[c for c in dict.fromkeys(towns)]]
        return found, Match(None, None, "address_township", self._candidates(hits_frame, 100.0))

    def _city_of_county(self, county_code: str) -> str | None:
        rows = self.counties[self.counties["region_code"] == county_code]
        return rows["city_code"].iloc[0] if len(rows) else None

    def _address_pattern(self, county_code: str | None):
        """(one regex of every township name of the county, or of the atlas, longest first;
        each name -> [(code, how)]): built once per county."""
        if county_code in self._address_patterns:
            return self._address_patterns[county_code]
        pool = self._pools(county_code)[0] if county_code or self.atlas_codes else self.towns
        if not county_code and self.atlas_codes and len(self._pools(None)) > 1:
            pool = self._pools(None)[1]  # the atlas's cities: a case may come from a township not yet mapped
        codes_of: dict[str, list] = {}
        bare: set[str] = set()
        for code, name, town_core in zip(pool.index, pool["clean"], pool["core"]):
            forms = {name} | ({town_core + s for s in ADDRESS_SUFFIXES} if town_core != name else set())
            for form in forms:
                codes_of.setdefault(form, []).append((code, "name"))
            if len(town_core) >= 2 and town_core != name:
                codes_of.setdefault(town_core, []).append((code, "name"))
                bare.add(town_core)
        for (alias, alias_county), code in self.aliases.items():
            if len(alias) >= 2 and alias_county in ("", county_code or "") and code in self.towns.index:
                codes_of[alias] = [(code, "alias")]
                bare.discard(alias)
        if not codes_of:
            self._address_patterns[county_code] = (None, {})
            return None, {}
        parts = [re.escape(f) + (f"(?!{NOT_A_TOWNSHIP_AFTER})" if f in bare else "")
                 for f in sorted(codes_of, key=lambda f: (-len(f), f))]
        pattern = re.compile("|".join(parts))
        for form, codes in codes_of.items():
            codes_of[form] = list(dict.fromkeys(codes))
        self._address_patterns[county_code] = (pattern, codes_of)
        return pattern, codes_of
