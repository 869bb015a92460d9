"""The finance officers' web console: server-rendered, Vietnamese first, one agency per officer."""
