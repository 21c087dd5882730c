// Small enhancements; every page works without them (nothing here at the moment: the worklists'
// "select all" is a link that works without JavaScript).
