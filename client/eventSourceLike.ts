/** An EventSource constructor (the browser's; in Node, the `eventsource` package's; in React Native, react-native-sse's), for subscriptions. */
export type EventSourceLike = new (url: string, init?: { withCredentials?: boolean; fetch?: typeof fetch; headers?: Record<string, string> }) => unknown;
