################################################################################
#
# webfuse -- UNTESTED example (docs/embedded.md); point WEBFUSE_SITE at your
# copy of the repository and add the licence lines for your release.
#
################################################################################

WEBFUSE_VERSION = main
WEBFUSE_SITE = https://git.example.org/webfuse.git
WEBFUSE_SITE_METHOD = git
WEBFUSE_INSTALL_STAGING = YES
WEBFUSE_DEPENDENCIES = host-pkgconf libfuse3 libwebsockets

# Buildroot cross-compiles, so tests and examples are off already.
WEBFUSE_CONF_OPTS = -DWF_SERVICE=ON

ifeq ($(BR2_PACKAGE_WEBFUSE_PROVIDER),y)
WEBFUSE_CONF_OPTS += -DWF_PROVIDER=ON
else
WEBFUSE_CONF_OPTS += -DWF_PROVIDER=OFF
endif

ifeq ($(BR2_STATIC_LIBS),y)
WEBFUSE_CONF_OPTS += -DWF_SHARED=OFF
endif

ifeq ($(BR2_PACKAGE_SYSTEMD),y)
WEBFUSE_CONF_OPTS += -DWF_SYSTEMD_UNITDIR=/usr/lib/systemd/system
else
WEBFUSE_CONF_OPTS += -DWF_SYSTEMD_UNITDIR=
endif

$(eval $(cmake-package))
