# UNTESTED example (docs/embedded.md): a recipe for a layer of your own.
# Point SRC_URI at your copy of the repository and replace LICENSE and
# LIC_FILES_CHKSUM with the project's.
SUMMARY = "Mount a remote directory over a WebSocket (webfuse2)"
LICENSE = "CLOSED"

SRC_URI = "git://git.example.org/webfuse.git;protocol=https;branch=main"
SRCREV = "${AUTOREV}"
PV = "0.1.0+git${SRCPV}"
S = "${WORKDIR}/git"

DEPENDS = "fuse3 libwebsockets"
inherit cmake pkgconfig systemd

PACKAGECONFIG ??= "provider"
PACKAGECONFIG[provider] = "-DWF_PROVIDER=ON,-DWF_PROVIDER=OFF"

# Cross builds have tests and examples off by default.
EXTRA_OECMAKE = "-DWF_SYSTEMD_UNITDIR=${systemd_system_unitdir}"

SYSTEMD_SERVICE:${PN} = "webfuse.service"
# The unit needs a site's mount point, port and authentication first.
SYSTEMD_AUTO_ENABLE = "disable"

# fusermount3 for mounting as a user other than root
RDEPENDS:${PN} += "fuse3-utils"
