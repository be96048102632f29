// Stand-ins for the two React Native packages snippets/expoClient.ts imports, which this Node project does not
// install: the parts of their published declarations that the snippet uses, as they are (expo-secure-store 14,
// react-native-sse 1.2), so CI compiles the README's React Native code. CI runs the Node path only.
declare module 'expo-secure-store' {
  export type KeychainAccessibilityConstant = number;
  export const AFTER_FIRST_UNLOCK_THIS_DEVICE_ONLY: KeychainAccessibilityConstant;
  export interface SecureStoreOptions {
    keychainService?: string;
    keychainAccessible?: KeychainAccessibilityConstant;
  }
  export function getItemAsync(key: string, options?: SecureStoreOptions): Promise<string | null>;
  export function setItemAsync(key: string, value: string, options?: SecureStoreOptions): Promise<void>;
  export function deleteItemAsync(key: string, options?: SecureStoreOptions): Promise<void>;
}

declare module 'react-native-sse' {
  export interface EventSourceOptions {
    method?: string;
    timeout?: number;
    timeoutBeforeConnection?: number;
    withCredentials?: boolean;
    headers?: Record<string, any>;
    body?: any;
    debug?: boolean;
    pollingInterval?: number;
  }
  export default class EventSource {
    constructor(url: URL | string, options?: EventSourceOptions);
    open(): void;
    close(): void;
  }
}
