"""The outbound address check sees the IPv4 address inside an IPv6 one."""
from __future__ import annotations

import pytest

from automations import outbound


@pytest.mark.parametrize("url", [
    "http://[64:ff9b::7f00:1]/",            # NAT64 to 127.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/latest/",  # NAT64 to the metadata service
    "http://[64:ff9b:1::a00:1]/",           # local-use NAT64 to 10.0.0.1
    "http://[2002:7f00:1::]/",              # 6to4 from 127.0.0.1
    "http://[2002:c0a8:101::1]/",           # 6to4 from 192.168.1.1
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo to 127.0.0.1
    "http://[::ffff:7f00:1]/",              # IPv4-mapped
    "http://[::7f00:1]/",                   # IPv4-compatible
])
def test_ipv4_inside_ipv6_is_refused(url, settings):
    settings.AUTOMATIONS = {"OUTBOUND_ALLOWED_HOSTS": []}
    with pytest.raises(outbound.OutboundRefused, match="refused to call"):
        outbound.check_destination(url)


def test_public_ipv4_inside_ipv6_is_not_refused_for_it(settings):
    settings.AUTOMATIONS = {"OUTBOUND_ALLOWED_HOSTS": []}
    outbound.check_destination("http://[64:ff9b::808:808]/")  # NAT64 to 8.8.8.8
    outbound.check_destination("http://[2002:808:808::1]/")   # 6to4 from 8.8.8.8


def test_the_allow_list_applies_to_the_embedded_address(settings):
    settings.AUTOMATIONS = {"OUTBOUND_ALLOWED_HOSTS": ["10.0.0.0/8"]}
    outbound.check_destination("http://[64:ff9b::a00:1]/")
