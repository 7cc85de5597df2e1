// filled by its issue
export {};
