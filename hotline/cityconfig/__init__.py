"""The city's data (routing/, sms/, ivr_flows/) loaded, validated and cross-checked into one CityConfig."""

from hotline.cityconfig.errors import ConfigError, ConfigErrors
from hotline.cityconfig.loader import load_city_config
from hotline.cityconfig.model import CityConfig

__all__ = ["CityConfig", "ConfigError", "ConfigErrors", "load_city_config"]
