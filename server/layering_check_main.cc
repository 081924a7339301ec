// The program of each layering_check_<layer> target (server/CMakeLists.txt): it only has to link. What matters is
// the link itself: all of one layer's objects against the layers below it, so that a call up into a layer above
// is an undefined symbol.
int main() { return 0; }
