# board/buildroot/external.mk - the package recipes of the SUBGATE external
# tree (make BR2_EXTERNAL=/path/to/subgate/board/buildroot ...).
include $(sort $(wildcard $(BR2_EXTERNAL_SUBGATE_PATH)/*/*.mk))
