"""Seeded synthetic instances of any size, for tests and benchmarks (`optimise generate`).

``generate_instance(authorities, providers, types, seed, **knobs)`` draws everything from
``numpy.random.default_rng(seed)``, so the same arguments always give the same instance, and
``write_instance`` writes it in the directory format of docs/model.md section 3 with fixed
decimals, so they also give byte-identical files. Everything is vectorised with numpy (no loop
over authority-provider pairs): 500 authorities x 5,000 providers x 6 types takes about 0.1 s,
0.15 s with the text.

What is drawn, and the figures behind it (``/work/shared/data/README.md`` for prices, DfE
"Children looked after in England" 2024 for the placement mix):

- geography: ``cities`` cluster centres taken from real English towns (a few km of jitter),
  authorities scattered around them (normal, ``cluster_km``), all inside England's bounding box
  (lat 50.0-55.8, lon -5.5-1.7) and on land (a coarse outline of England, ``on_land``).
  Providers sit near a home authority chosen in proportion to its demand: most within
  ``near_km`` (30 km) of it, a share ``far_share`` 30-``far_km`` km away. No distances table:
  coordinates only, so files stay small.
- placement types: those of docs/model.md section 2, the first ``types`` of ``TYPE_SPECS``.
  Weekly prices per type are drawn around the calibrated typical figure, clipped to the
  calibrated range; emergency prices are above every offer's (``max(1.5 x typical, 1.2 x the
  range's top)``).
  Supported 16+, specialist fostering and the case-management costs are assumptions.
- demand: an authority's size is lognormal (median ``size_median`` places across the six
  types), times the national-like mix (fostering dominant), times a little lognormal noise;
  ``sd`` = sqrt(places).
- providers: one in-house fostering provider per authority when ``providers >= authorities``
  (price about £625, capacity 30-60% of its owner's standard fostering demand); the rest
  independent or (share ``voluntary_share``) voluntary, each a fostering agency, a children's
  home group or a supported-accommodation provider, with lognormal sizes (a few big groups).
  Every type has at least one offer, and each type's total capacity is 0.9-1.3 x its demand.
- contracts, tiers and substitutions: a few providers with ``contract_cost_year`` or
  ``min_places``; 1-3 volume tiers (the top one sometimes a guarantee) with rising discounts on a
  share of the larger providers; substitutions foster_standard -> foster_specialist and
  residential -> residential_complex when both types are present; consortia.csv with the whole
  consortium and a northern and a southern group.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import yaml

from optimiser.errors import InputError, Problem
from optimiser.records import Instance
from optimiser.schema import (
    TABLES,
    Authority,
    Demand,
    Membership,
    Offer,
    PlacementType,
    Provider,
    Substitution,
    Tier,
)
from optimiser.writers import write_folder

LAT_RANGE = (50.0, 55.8)
LON_RANGE = (-5.5, 1.7)
KM_PER_DEGREE_LAT = 111.2

#: Real English towns used as cluster centres (name, lat, lon).
CITIES: tuple[tuple[str, float, float], ...] = (
    ("London", 51.507, -0.128), ("Birmingham", 52.486, -1.890),
    ("Manchester", 53.481, -2.243), ("Leeds", 53.801, -1.549),
    ("Liverpool", 53.408, -2.992), ("Newcastle", 54.978, -1.618),
    ("Sheffield", 53.381, -1.470), ("Bristol", 51.455, -2.588),
    ("Nottingham", 52.955, -1.158), ("Leicester", 52.637, -1.139),
    ("Southampton", 50.910, -1.404), ("Portsmouth", 50.819, -1.088),
    ("Plymouth", 50.376, -4.143), ("Exeter", 50.718, -3.534),
    ("Norwich", 52.630, 1.297), ("Cambridge", 52.205, 0.122),
    ("Oxford", 51.752, -1.258), ("Brighton", 50.823, -0.137),
    ("Hull", 53.745, -0.336), ("York", 53.960, -1.082),
    ("Bradford", 53.796, -1.759), ("Stoke-on-Trent", 53.003, -2.179),
    ("Coventry", 52.407, -1.510), ("Derby", 52.922, -1.476),
    ("Reading", 51.454, -0.978), ("Milton Keynes", 52.041, -0.760),
    ("Preston", 53.763, -2.703), ("Middlesbrough", 54.576, -1.235),
    ("Sunderland", 54.906, -1.383), ("Carlisle", 54.892, -2.934),
    ("Lincoln", 53.234, -0.538), ("Ipswich", 52.057, 1.148),
    ("Canterbury", 51.280, 1.079), ("Gloucester", 51.864, -2.244),
    ("Peterborough", 52.573, -0.241), ("Northampton", 52.240, -0.902),
    ("Wolverhampton", 52.587, -2.129), ("Bournemouth", 50.720, -1.880),
    ("Truro", 50.263, -5.051), ("Blackpool", 53.817, -3.036),
    ("Chelmsford", 51.736, 0.479), ("Luton", 51.879, -0.418),
    ("Swindon", 51.558, -1.782), ("Worcester", 52.192, -2.220),
    ("Shrewsbury", 52.707, -2.754), ("Lancaster", 54.047, -2.801),
)

FOSTERING, RESIDENTIAL, SUPPORTED = "fostering", "residential", "supported"
SECTORS = (FOSTERING, RESIDENTIAL, SUPPORTED)
SECTOR_WORDS = {FOSTERING: "Fostering", RESIDENTIAL: "Care Homes", SUPPORTED: "Supported Living"}


@dataclass(frozen=True)
class TypeSpec:
    """A placement type's figures: prices in £/week, mix = share of all placements."""

    id: str
    name: str
    specialist: bool
    typical: float  # typical weekly price of an independent offer
    low: float  # calibrated range of weekly prices
    high: float
    spread: float  # standard deviation of drawn prices
    case_management: float  # LA social-work £/week per place (an assumption)
    mix: float  # share of an authority's placements (DfE 2024, split by assumption)
    breakdown: float  # breakdowns per place per year at a good provider (an assumption)
    sector: str  # the sector that offers it (each of its providers, unless ``also`` says)
    also: dict  # sector -> probability that one of its providers offers the type

    @property
    def emergency(self) -> float:
        """Above every offer of the type: unregistered and emergency spot placements."""
        return float(round(max(1.5 * self.typical, 1.2 * self.high), -1))


#: The placement types of docs/model.md section 2, in the order `--types K` takes the first K.
TYPE_SPECS: tuple[TypeSpec, ...] = (
    # IFA standard fostering about £815 (range £550-972), Lincolnshire FOI 2022-23, CMA 2021
    TypeSpec("foster_standard", "Standard fostering", False, 815, 550, 972, 90, 150, 0.64,
             0.10, FOSTERING, {}),
    # enhanced/specialist IFA fostering: an assumption between standard fostering and P&C
    TypeSpec("foster_specialist", "Specialist fostering", True, 1150, 950, 1500, 120, 200, 0.11,
             0.15, FOSTERING, {FOSTERING: 0.6}),
    # independent children's home about £6,250 (Lincolnshire FOI), £318,400/yr (NAO 2025)
    TypeSpec("residential", "Children's home", False, 6250, 4500, 8500, 700, 250, 0.085,
             0.25, RESIDENTIAL, {}),
    # supported accommodation 16+: an assumption around £1,200
    TypeSpec("supported_16plus", "Supported accommodation 16+", False, 1200, 800, 1700, 180,
             120, 0.10, 0.20, SUPPORTED, {}),
    # parent and child: IFA about £1,600, residential about £2,790 (Lincolnshire FOIs)
    TypeSpec("parent_child", "Parent and child", True, 2000, 1600, 2790, 100, 250, 0.02,
             0.15, FOSTERING, {FOSTERING: 0.2, RESIDENTIAL: 0.15}),
    # complex needs about £6,800-15,000 (Milton Keynes notice; LGA survey: 1,500+ at £10k+)
    TypeSpec("residential_complex", "Complex-needs residential", True, 9500, 6800, 15000, 1800,
             350, 0.02, 0.30, RESIDENTIAL, {RESIDENTIAL: 0.35}),
)

#: Parent-and-child prices by who offers it: a fostering placement or a family centre.
PARENT_CHILD_PRICES = {FOSTERING: (1650.0, 80.0), RESIDENTIAL: (2650.0, 120.0)}
#: In-house fostering, fully costed: about £600-650 (DfE 2016; PSSRU 2017 £646).
IN_HOUSE_PRICE = (625.0, 15.0, 600.0, 650.0)

RATINGS = ("outstanding", "good", "requires_improvement", "inadequate", "unrated")
RATING_SHARES = (0.15, 0.60, 0.10, 0.03, 0.12)
RATING_PRICE = np.array([1.04, 1.0, 0.96, 0.94, 0.98])  # better homes charge a little more
RATING_BREAKDOWN = np.array([0.8, 1.0, 1.3, 1.6, 1.1])

#: Decimals written for every float column (values are rounded to them when generated).
DECIMALS = {
    "lat": 5, "lon": 5, "places": 1, "sd": 2, "capacity": 1, "min_places": 1, "max_places": 1,
    "weekly_price": 2, "emergency_weekly_price": 2, "case_management_weekly": 2,
    "contract_cost_year": 2, "discount_pct": 2, "breakdown_rate": 3, "km": 3,
    "extra_cost_year": 2, "min_local_share": 3,
}


@dataclass(frozen=True)
class Knobs:
    """Optional settings of :func:`generate_instance` (keyword arguments of the same names)."""

    cities: int | None = None  # cluster centres; default round(sqrt(authorities))
    cluster_km: float = 20.0  # spread (sd, km) of authorities around their city
    size_median: float = 350.0  # median places of an authority across the six types
    size_sigma: float = 0.6  # lognormal sigma of authority sizes
    mix_noise: float = 0.3  # lognormal sigma of each authority's deviation from the mix
    capacity_ratio: tuple[float, float] = (0.9, 1.3)  # total capacity / demand, per type
    near_km: float = 30.0  # most providers lie within this of their home authority
    far_share: float = 0.15  # the others lie near_km-far_km away
    far_km: float = 150.0
    in_house: bool = True  # one in-house provider per authority when providers >= authorities
    in_house_share: tuple[float, float] = (0.3, 0.6)  # of the owner's standard fostering demand
    voluntary_share: float = 0.2
    size_sigma_providers: float = 1.0  # lognormal sigma of provider sizes
    contract_share: float = 0.08  # providers with a contract_cost_year
    min_places_share: float = 0.08  # providers with min_places
    tier_share: float = 0.5  # of the larger half of providers, the share with tiers
    guarantee_share: float = 0.35  # of tiered providers, the share whose top tier is a guarantee
    name: str | None = None


def _problem(option: str, message: str) -> InputError:
    return InputError(Problem(option, message))


def _knobs(given: dict) -> Knobs:
    known = {f.name for f in fields(Knobs)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise _problem("generate", f"unknown setting {', '.join(unknown)}; "
                       f"known: {', '.join(sorted(known))}")
    knobs = Knobs(**given)
    lo, hi = knobs.capacity_ratio
    if not 0 <= lo <= hi:
        raise _problem("capacity_ratio", f"needs 0 <= low <= high, got {knobs.capacity_ratio}")
    if knobs.cities is not None and knobs.cities < 1:
        raise _problem("cities", f"must be at least 1, got {knobs.cities}")
    return knobs


def _check_sizes(authorities: int, providers: int, types: int, seed: int) -> None:
    problems = []
    for option, value, low in (("--authorities", authorities, 1), ("--providers", providers, 1),
                               ("--seed", seed, 0)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            problems.append(Problem(option, f"must be a whole number >= {low}, got {value!r}"))
    if not isinstance(types, (int, np.integer)) or not 1 <= types <= len(TYPE_SPECS):
        problems.append(Problem("--types", f"must be between 1 and {len(TYPE_SPECS)} "
                                f"({', '.join(t.id for t in TYPE_SPECS)}), got {types!r}"))
    if problems:
        raise InputError(problems)


# Helpers ---------------------------------------------------------------------------------------


def _round(column: str, values):
    return np.round(np.asarray(values, dtype=float), DECIMALS[column])


#: A coarse outline of England (lat, lon), clockwise from Berwick: coast, Welsh and Scottish
#: borders, to keep generated places on land. Islands and estuaries are left out.
ENGLAND = np.array([
    (55.77, -2.00), (55.02, -1.42), (54.69, -1.21), (54.49, -0.61), (54.28, -0.40),
    (54.12, -0.08), (53.58, 0.11), (53.14, 0.34), (52.94, 0.49), (52.93, 1.30),
    (52.61, 1.70), (52.48, 1.70), (51.96, 1.35), (51.79, 1.15), (51.54, 0.71), (51.39, 1.38),
    (51.13, 1.31), (50.91, 0.98), (50.85, 0.57), (50.74, 0.25), (50.82, -0.14),
    (50.73, -0.79), (50.79, -1.09), (50.69, -1.90), (50.58, -2.06), (50.51, -2.46),
    (50.72, -2.94), (50.61, -3.41), (50.22, -3.64), (50.36, -4.14), (50.05, -5.20),
    (50.07, -5.50), (50.21, -5.48), (50.42, -5.08), (51.02, -4.53), (51.21, -4.12),
    (51.21, -3.47), (51.35, -2.98), (51.50, -2.70), (51.64, -2.67), (51.81, -2.72),
    (52.07, -3.13), (52.34, -3.05), (52.66, -3.05), (52.93, -3.06), (53.30, -3.10),
    (53.40, -3.18), (53.56, -3.08), (53.65, -3.01), (53.82, -3.06), (53.93, -3.01),
    (54.07, -2.86), (54.11, -3.23), (54.51, -3.64), (54.64, -3.57), (54.87, -3.39),
    (54.99, -3.07), (55.25, -2.58), (55.36, -2.48), (55.65, -2.25),
])


def on_land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Whether each point lies inside the coarse outline of England (ray casting)."""
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    inside = np.zeros(lat.shape, dtype=bool)
    y1, x1 = ENGLAND[:, 0], ENGLAND[:, 1]
    y2, x2 = np.roll(y1, -1), np.roll(x1, -1)
    for a_lat, a_lon, b_lat, b_lon in zip(y1, x1, y2, x2):
        crosses = (a_lat > lat) != (b_lat > lat)
        at = a_lon + (lat - a_lat) * (b_lon - a_lon) / (b_lat - a_lat + (b_lat == a_lat))
        inside ^= crosses & (lon < at)
    return inside


def _offset(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, km: np.ndarray):
    """Points ``km`` away from (lat, lon) in random directions, on land in England.

    A point falling in the sea (or in Wales or Scotland) is drawn again in another direction
    at a shrinking distance; after a few tries it is put at its origin.
    """
    lat, lon = np.asarray(lat, dtype=float), np.asarray(lon, dtype=float)
    km = np.asarray(km, dtype=float).copy()
    out_lat, out_lon = lat.copy(), lon.copy()
    todo = np.arange(len(lat))
    for _ in range(12):
        if len(todo) == 0:
            break
        angle = rng.uniform(0.0, 2 * np.pi, size=len(todo))
        dlat = km[todo] * np.cos(angle) / KM_PER_DEGREE_LAT
        dlon = km[todo] * np.sin(angle) / (KM_PER_DEGREE_LAT * np.cos(np.radians(lat[todo])))
        new_lat = np.clip(lat[todo] + dlat, *LAT_RANGE)
        new_lon = np.clip(lon[todo] + dlon, *LON_RANGE)
        good = on_land(new_lat, new_lon)
        out_lat[todo[good]], out_lon[todo[good]] = new_lat[good], new_lon[good]
        todo = todo[~good]
        km[todo] *= 0.8
    return _round("lat", out_lat), _round("lon", out_lon)


def _apportion(units: int, weights: np.ndarray) -> np.ndarray:
    """``units`` whole units split in proportion to ``weights`` (largest remainders)."""
    if len(weights) == 0:
        return np.zeros(0, dtype=np.int64)
    share = units * weights / weights.sum()
    whole = np.floor(share).astype(np.int64)
    left = units - int(whole.sum())
    if left > 0:
        # stable sort on minus the remainder: ties go to the earlier offer, deterministically
        order = np.argsort(-(share - whole), kind="stable")
        whole[order[:left]] += 1
    return whole


def _zero_padded(prefix: str, count: int) -> list[str]:
    width = len(str(count))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


# Generation ------------------------------------------------------------------------------------


@dataclass
class _Geography:
    cluster_names: list[str]
    cluster_lat: np.ndarray
    cluster: np.ndarray  # cluster of each authority
    lat: np.ndarray
    lon: np.ndarray


def _geography(rng: np.random.Generator, count: int, knobs: Knobs) -> _Geography:
    cities = min(count, knobs.cities or max(1, round(math.sqrt(count))))
    picks = rng.permutation(len(CITIES))[: min(cities, len(CITIES))]
    if cities > len(CITIES):
        picks = np.concatenate([picks, rng.integers(0, len(CITIES), cities - len(CITIES))])
    names, seen = [], {}
    for index in picks:
        name = CITIES[index][0]
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    base = np.array([CITIES[i][1:] for i in picks], dtype=float)
    centre_lat, centre_lon = _offset(rng, base[:, 0], base[:, 1],
                                     np.abs(rng.normal(0.0, 5.0, cities)))
    # every city gets one authority, the rest go to cities of uneven pull
    pull = rng.dirichlet(np.full(cities, 2.0))
    cluster = np.concatenate([np.arange(cities),
                              rng.choice(cities, size=count - cities, p=pull)])
    km = rng.rayleigh(knobs.cluster_km, count)  # normal spread in each direction
    lat, lon = _offset(rng, centre_lat[cluster], centre_lon[cluster], km)
    return _Geography(names, centre_lat, cluster, lat, lon)


def _authorities(geo: _Geography) -> tuple[list[str], list[Authority]]:
    ids = _zero_padded("LA", len(geo.cluster))
    counter: dict[int, int] = {}
    rows = []
    for i, c in enumerate(geo.cluster.tolist()):
        counter[c] = counter.get(c, 0) + 1
        city = geo.cluster_names[c]
        rows.append(Authority(id=ids[i], name=f"{city} {counter[c]}", region=f"{city} area",
                              lat=float(geo.lat[i]), lon=float(geo.lon[i])))
    return ids, rows


def _demand(rng: np.random.Generator, count: int, specs, knobs: Knobs) -> np.ndarray:
    """Places per (authority, type): lognormal size x national mix x noise, 1 decimal."""
    size = knobs.size_median * rng.lognormal(0.0, knobs.size_sigma, count)
    mix = np.array([t.mix for t in TYPE_SPECS])
    mix = (mix / mix.sum())[: len(specs)]
    noise = rng.lognormal(0.0, knobs.mix_noise, (count, len(specs)))
    return _round("places", size[:, None] * mix[None, :] * noise)


@dataclass
class _Providers:
    ids: list[str]
    names: list[str]
    kind: np.ndarray  # str
    owner: np.ndarray  # authority index or -1
    sector: np.ndarray  # index into SECTORS (in-house: fostering)
    home: np.ndarray  # authority index
    lat: np.ndarray
    lon: np.ndarray
    rating: np.ndarray  # index into RATINGS
    size: np.ndarray  # relative size weight


def _providers(rng: np.random.Generator, count: int, geo: _Geography, demand: np.ndarray,
               specs, knobs: Knobs, authority_names: list[str]) -> _Providers:
    n_auth = len(geo.cluster)
    in_house = n_auth if knobs.in_house and count >= n_auth else 0
    others = count - in_house
    # sectors present: fostering always (type 1), residential from 3 types, supported from 4
    present = [s for s in SECTORS if any(t.sector == s for t in specs)]
    weights = np.array([{FOSTERING: 0.45, RESIDENTIAL: 0.35, SUPPORTED: 0.20}[s] for s in present])
    sector_of_other = np.array([SECTORS.index(s) for s in present])[
        rng.choice(len(present), size=others, p=weights / weights.sum())]
    total = demand.sum(axis=1)
    home_p = total / total.sum() if total.sum() > 0 else np.full(n_auth, 1.0 / n_auth)
    home_other = rng.choice(n_auth, size=others, p=home_p)
    far = rng.random(others) < knobs.far_share
    km = np.where(far, rng.uniform(knobs.near_km, max(knobs.far_km, knobs.near_km), others),
                  knobs.near_km * np.sqrt(rng.random(others)))  # uniform over the near disc
    home = np.concatenate([np.arange(in_house), home_other])
    km = np.concatenate([rng.uniform(0.0, 8.0, in_house), km])  # in-house: in the authority
    lat, lon = _offset(rng, geo.lat[home], geo.lon[home], km)
    voluntary = rng.random(others) < knobs.voluntary_share
    kind = np.array(["in_house"] * in_house
                    + np.where(voluntary, "voluntary", "independent").tolist(), dtype=object)
    rating = rng.choice(len(RATINGS), size=count, p=RATING_SHARES)
    size = rng.lognormal(0.0, knobs.size_sigma_providers, count)
    sector = np.concatenate([np.zeros(in_house, dtype=np.int64), sector_of_other])
    ids = _zero_padded("H", n_auth)[:in_house] + _zero_padded("P", others)
    cities = [geo.cluster_names[c] for c in geo.cluster[home].tolist()]
    names = [f"{authority_names[i]} in-house fostering" for i in range(in_house)]
    names += [f"{cities[in_house + j]} {SECTOR_WORDS[SECTORS[sector[in_house + j]]]} {j + 1}"
              for j in range(others)]
    owner = np.concatenate([np.arange(in_house), np.full(others, -1)])
    return _Providers(ids, names, kind, owner, sector, home, lat, lon, rating, size)


def _offer_matrix(rng: np.random.Generator, prov: _Providers, specs) -> np.ndarray:
    """Which provider offers which type: by sector, every type offered at least once."""
    n, k = len(prov.ids), len(specs)
    in_house = prov.kind == "in_house"
    offers = np.zeros((n, k), dtype=bool)
    draws = rng.random((n, k))
    for t, spec in enumerate(specs):
        for s, sector in enumerate(SECTORS):
            chance = spec.also.get(sector, 1.0 if sector == spec.sector else 0.0)
            offers[:, t] |= ~in_house & (prov.sector == s) & (draws[:, t] < chance)
    offers[in_house, 0] = True  # in-house standard fostering
    missing = [t for t in range(k) if not offers[:, t].any()]
    for t in missing:
        # prefer an outside provider of the type's sector, then any outside one, then in-house
        sector = prov.sector == SECTORS.index(specs[t].sector)
        for pool in (sector & ~in_house, ~in_house, np.ones(n, dtype=bool)):
            candidates = np.flatnonzero(pool)
            if len(candidates):
                offers[rng.choice(candidates), t] = True
                break
    return offers


def _capacities(rng: np.random.Generator, prov: _Providers, offers: np.ndarray,
                demand: np.ndarray, knobs: Knobs) -> np.ndarray:
    """Capacity per (provider, type) in tenths of a place; total per type 0.9-1.3 x demand."""
    n, k = offers.shape
    lo, hi = knobs.capacity_ratio
    totals = demand.sum(axis=0)
    ratio = rng.uniform(lo, hi, k)
    target = np.clip(np.round(ratio * totals * 10), np.ceil(lo * totals * 10 - 1e-9),
                     np.floor(hi * totals * 10 + 1e-9)).astype(np.int64)
    weight = prov.size[:, None] * rng.lognormal(0.0, 0.3, (n, k))
    share = rng.uniform(*knobs.in_house_share, n)
    cap = np.zeros((n, k), dtype=np.int64)
    fixed = (prov.kind == "in_house")[:, None] & offers
    fixed[:, 1:] = False  # only in-house standard fostering has a capacity of its own
    own = np.where(prov.owner >= 0, prov.owner, 0)
    for t in range(k):
        flexible = np.flatnonzero(offers[:, t] & ~fixed[:, t])
        held = np.flatnonzero(fixed[:, t])
        if len(flexible) == 0:
            cap[held, t] = _apportion(int(target[t]), demand[own[held], t] + 1e-9)
            continue
        cap[held, t] = np.round(share[held] * demand[own[held], t] * 10).astype(np.int64)
        cap[flexible, t] = _apportion(max(int(target[t] - cap[held, t].sum()), 0),
                                      weight[flexible, t])
    return cap


def _prices(rng: np.random.Generator, prov: _Providers, offers: np.ndarray, specs) -> np.ndarray:
    n, k = offers.shape
    noise = rng.standard_normal((n, k))
    price = np.zeros((n, k))
    factor = RATING_PRICE[prov.rating]
    for t, spec in enumerate(specs):
        mean = np.full(n, float(spec.typical))
        spread = np.full(n, float(spec.spread))
        if spec.id == "parent_child":
            for sector, (m, s) in PARENT_CHILD_PRICES.items():
                mean[prov.sector == SECTORS.index(sector)] = m
                spread[prov.sector == SECTORS.index(sector)] = s
        drawn = np.clip((mean + spread * noise[:, t]) * factor, spec.low, spec.high)
        if t == 0:
            m, s, low, high = IN_HOUSE_PRICE
            drawn = np.where(prov.kind == "in_house",
                             np.clip(m + s * noise[:, t], low, high), drawn)
        price[:, t] = drawn
    return _round("weekly_price", price)


def _breakdown(rng: np.random.Generator, prov: _Providers, specs) -> np.ndarray:
    base = np.array([t.breakdown for t in specs])
    rate = base[None, :] * RATING_BREAKDOWN[prov.rating][:, None]
    rate = rate * rng.lognormal(0.0, 0.2, rate.shape)
    return _round("breakdown_rate", np.clip(rate, 0.0, 1.0))


def _contracts(rng: np.random.Generator, prov: _Providers, total_cap: np.ndarray, knobs: Knobs):
    outside = prov.kind != "in_house"
    n = len(prov.ids)
    cost = np.where(outside & (rng.random(n) < knobs.contract_share),
                    np.round(rng.uniform(5_000, 60_000, n), -2), 0.0)
    minimum = _round("min_places", rng.uniform(0.1, 0.4, n) * total_cap)
    minimum = np.where(outside & (rng.random(n) < knobs.min_places_share), minimum, 0.0)
    return _round("contract_cost_year", cost), minimum


def _tiers(rng: np.random.Generator, prov: _Providers, cap: np.ndarray, specs,
           knobs: Knobs) -> list[Tier]:
    """1-3 tiers with rising discounts on a share of the larger outside providers."""
    total = cap.sum(axis=1) / 10
    outside = np.flatnonzero((prov.kind != "in_house") & (total > 0))
    if len(outside) == 0:
        return []
    larger = outside[total[outside] >= np.median(total[outside])]
    chosen = larger[rng.random(len(larger)) < knobs.tier_share]
    m = len(chosen)
    count = rng.integers(1, 4, m)
    fractions = np.sort(rng.uniform(0.2, 0.9, (m, 3)), axis=1)
    discounts = _round("discount_pct", np.cumsum(
        np.column_stack([rng.uniform(2, 5, m), rng.uniform(1.5, 4, (m, 2))]), axis=1))
    guarantee = rng.random(m) < knobs.guarantee_share
    blank = rng.random(m) < 0.5
    main_type = np.argmax(cap[chosen], axis=1)
    offered = (cap[chosen] > 0).sum(axis=1)
    scope_blank = blank & (offered > 1)
    scope_cap = np.where(scope_blank, total[chosen], cap[chosen, main_type] / 10)
    minimum = _round("min_places", fractions * scope_cap[:, None])
    rows = []
    for i in range(m):
        p = chosen[i]
        scope = None if scope_blank[i] else specs[main_type[i]].id
        kept = []
        for j in range(int(count[i])):
            if minimum[i, j] > 0 and (not kept or minimum[i, j] > minimum[i, kept[-1]]):
                kept.append(j)
        for j in kept:
            rows.append(Tier(provider=prov.ids[p], placement_type=scope,
                             min_places=float(minimum[i, j]),
                             discount_pct=float(discounts[i, j]),
                             guarantee=bool(guarantee[i] and j == kept[-1])))
    return rows


def _consortia(geo: _Geography, ids: list[str]) -> list[Membership]:
    """The whole consortium, and a northern and a southern group (by city, else by latitude)."""
    rows = [Membership(consortium="Whole consortium", authority=a) for a in ids]
    if len(ids) < 2:
        return rows
    clusters = len(geo.cluster_names)
    if clusters >= 2:
        order = np.argsort(geo.cluster_lat, kind="stable")
        north_clusters = set(order[clusters // 2:].tolist())
        north = np.isin(geo.cluster, list(north_clusters))
    else:
        order = np.argsort(geo.lat, kind="stable")
        north = np.zeros(len(ids), dtype=bool)
        north[order[len(ids) // 2:]] = True
    rows += [Membership(consortium="Northern group", authority=a)
             for a, n in zip(ids, north) if n]
    rows += [Membership(consortium="Southern group", authority=a)
             for a, n in zip(ids, north) if not n]
    return rows


def generate_instance(authorities: int, providers: int, types: int, seed: int,
                      **knobs) -> Instance:
    """A valid synthetic instance; the same arguments always give the same instance.

    ``types`` takes the first K of ``TYPE_SPECS`` (1-6). ``knobs`` are the fields of
    :class:`Knobs`. Raises :class:`InputError` for bad arguments.
    """
    _check_sizes(authorities, providers, types, seed)
    settings = _knobs(knobs)
    rng = np.random.default_rng(int(seed))
    specs = TYPE_SPECS[:types]

    geo = _geography(rng, authorities, settings)
    authority_ids, authority_rows = _authorities(geo)
    places = _demand(rng, authorities, specs, settings)
    prov = _providers(rng, providers, geo, places, specs, settings,
                      [a.name for a in authority_rows])
    offered = _offer_matrix(rng, prov, specs)
    cap = _capacities(rng, prov, offered, places, settings)
    price = _prices(rng, prov, offered, specs)
    breakdown = _breakdown(rng, prov, specs)
    contract_cost, min_places = _contracts(rng, prov, cap.sum(axis=1) / 10, settings)
    tier_rows = _tiers(rng, prov, cap, specs, settings)

    type_rows = [PlacementType(id=t.id, name=t.name, specialist=t.specialist,
                               emergency_weekly_price=t.emergency,
                               case_management_weekly=float(t.case_management))
                 for t in specs]
    sd = _round("sd", np.sqrt(places))
    demand_rows = [Demand(authority=a, placement_type=t.id, places=float(places[i, j]),
                          sd=float(sd[i, j]))
                   for i, a in enumerate(authority_ids) for j, t in enumerate(specs)]
    provider_rows = [
        Provider(id=prov.ids[p], name=prov.names[p], kind=prov.kind[p],
                 owner=authority_ids[prov.owner[p]] if prov.owner[p] >= 0 else None,
                 lat=float(prov.lat[p]), lon=float(prov.lon[p]),
                 rating=RATINGS[prov.rating[p]], contract_cost_year=float(contract_cost[p]),
                 min_places=float(min_places[p]))
        for p in range(providers)
    ]
    # an offer with no capacity left after apportioning is dropped, unless it is its type's only
    positive = offered & (cap > 0)
    keep = positive | (offered & (positive.sum(axis=0, keepdims=True) == 0))
    rows, cols = np.nonzero(keep)
    offer_rows = [Offer(provider=prov.ids[p], placement_type=specs[t].id,
                        capacity=float(cap[p, t]) / 10, weekly_price=float(price[p, t]),
                        breakdown_rate=float(breakdown[p, t]))
                  for p, t in zip(rows.tolist(), cols.tolist())]
    ids = [t.id for t in specs]
    substitutions = [Substitution(need=need, served_by=by)
                     for need, by in (("foster_standard", "foster_specialist"),
                                      ("residential", "residential_complex"))
                     if need in ids and by in ids]
    name = settings.name or f"synthetic-{authorities}x{providers}x{types}-seed{seed}"
    description = (
        f"Synthetic instance from `optimise generate --authorities {authorities} --providers "
        f"{providers} --types {types} --seed {seed}`: random authorities around English "
        "towns, prices calibrated to published English figures (DfE, Ofsted, FOIs, CMA; see "
        "optimiser/generate.py), volume discounts, contract costs and specialist prices are "
        "assumptions. Not real data."
    )
    return Instance(
        name=name,
        description=description,
        placement_types={t.id: t for t in type_rows},
        authorities={a.id: a for a in authority_rows},
        demand=tuple(demand_rows),
        providers={p.id: p for p in provider_rows},
        offers=tuple(offer_rows),
        tiers=tuple(tier_rows),
        substitutions=tuple(substitutions),
        consortia=tuple(_consortia(geo, authority_ids)),
        source="generated",
    )


# Writing ---------------------------------------------------------------------------------------


def _cell(column: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        digits = DECIMALS.get(column)
        if digits is None:
            return repr(value)
        text = f"{value:.{digits}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text
    return str(value)


def _table_text(name: str, rows) -> str:
    """CSV text of ``rows``: schema field order, required columns and any column in use."""
    model = TABLES[name].row
    columns = [
        column for column, field in model.model_fields.items()
        if field.is_required() or any(getattr(r, column) != field.default for r in rows)
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(c, getattr(row, c)) for c in columns])
    return buffer.getvalue()


def instance_files(instance: Instance) -> dict[str, str]:
    """The directory format of docs/model.md section 3 as text: ``instance.yaml`` and one CSV
    per table."""
    tables = {
        "placement_types": list(instance.placement_types.values()),
        "authorities": list(instance.authorities.values()),
        "demand": list(instance.demand),
        "providers": list(instance.providers.values()),
        "offers": list(instance.offers),
        "tiers": list(instance.tiers),
        "distances": list(instance.distances),
        "substitutions": list(instance.substitutions),
        "consortia": list(instance.consortia),
    }
    files: dict[str, str] = {}
    manifest: dict = {"name": instance.name}
    if instance.description:
        manifest["description"] = instance.description
    manifest["tables"] = {}
    for name, rows in tables.items():
        if rows or TABLES[name].required:
            files[f"{name}.csv"] = _table_text(name, rows)
            manifest["tables"][name] = f"{name}.csv"
    policy = instance.policy.model_dump(exclude_defaults=True)
    if policy:
        manifest["policy"] = policy
    files["instance.yaml"] = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True,
                                            width=100)
    return files


def check_destination(folder: Path, overwrite: bool = False) -> None:
    """Refuse a destination that is a file, or a non-empty folder unless ``overwrite``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise _problem(str(folder), "exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not overwrite:
        raise _problem(str(folder), "folder exists and is not empty: choose another folder "
                       "or replace it with --force")


def write_instance(instance: Instance, folder: Path, overwrite: bool = True) -> Path:
    """Write ``instance`` into ``folder`` atomically (replacing it); return the folder.

    With ``overwrite=False`` an existing non-empty folder is refused (:class:`InputError`).
    """
    check_destination(folder, overwrite)
    return write_folder(Path(folder), instance_files(instance))
