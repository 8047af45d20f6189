"""The core of the mirror: which Content-Types nginx may send mirrored files with."""

import re

from formats.base import format_configs
from formats.mirror import mirror_served_types
from tests.nginx import DEPLOY_CONF


def test_the_mirror_locations_types_are_those_of_the_mirrored_formats():
    block = re.search(r"types \{(.*?)\}", DEPLOY_CONF.read_text(), re.DOTALL)
    assert block is not None
    configured = {
        extension: mime
        for line in block[1].strip().splitlines()
        for mime, *extensions in [line.strip().rstrip(";").split()]
        for extension in extensions
    }

    assert configured == mirror_served_types()
    mirrored = {config.format_name for config in format_configs() if config.mirrored}
    assert mirrored == {"maven", "npm", "pypi"}


def test_formats_never_give_one_extension_two_types():
    seen: dict[str, str] = {}
    for config in format_configs():
        if config.mirrored:
            for extension, media_type in config.mirror_types.items():
                assert seen.setdefault(extension, media_type) == media_type, extension
